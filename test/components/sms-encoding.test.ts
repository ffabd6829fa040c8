import { expect } from 'chai';
import { countSms, encodingOf, withoutDiacritics } from '../../src/components/notifications/sms-encoding';

const gsm = (n: number) => 'a'.repeat(n);
const ucs = (n: number) => 'ệ'.repeat(n);

describe('notifications/sms-encoding', () => {
  describe('GSM-7', () => {
    it('counts 160 septets as one segment and 161 as two', () => {
      expect(countSms(gsm(160))).to.deep.equal({ encoding: 'GSM7', units: 160, segments: 1 });
      expect(countSms(gsm(161))).to.deep.equal({ encoding: 'GSM7', units: 161, segments: 2 });
    });

    it('cuts long texts into parts of 153 septets', () => {
      expect(countSms(gsm(306)).segments).to.equal(2);
      expect(countSms(gsm(307)).segments).to.equal(3);
      expect(countSms(gsm(459)).segments).to.equal(3);
      expect(countSms(gsm(460)).segments).to.equal(4);
      expect(countSms(gsm(612)).segments).to.equal(4);
    });

    it('counts an extension character as two septets', () => {
      expect(countSms('€')).to.deep.equal({ encoding: 'GSM7', units: 2, segments: 1 });
      expect(countSms(`${gsm(158)}{`)).to.deep.equal({ encoding: 'GSM7', units: 160, segments: 1 });
      expect(countSms(`${gsm(159)}{`)).to.deep.equal({ encoding: 'GSM7', units: 161, segments: 2 });
      for (const ch of '^{}\\[~]|€\f') expect(countSms(ch).units, JSON.stringify(ch)).to.equal(2);
    });

    it('never splits an extension character across two parts', () => {
      // 306 septets fit two parts of 153, but € at septets 153-154 would be cut: it moves whole and a third part follows
      const t = `${gsm(152)}€${gsm(152)}`;
      expect(countSms(t)).to.deep.equal({ encoding: 'GSM7', units: 306, segments: 3 });
      // the same septets with € wholly inside the first part fit two parts
      const u = `${gsm(151)}€${gsm(153)}`;
      expect(countSms(u)).to.deep.equal({ encoding: 'GSM7', units: 306, segments: 2 });
      // 153 × 2 exactly, with an extension character ending each part
      const v = `${gsm(151)}€${gsm(151)}€`;
      expect(countSms(v)).to.deep.equal({ encoding: 'GSM7', units: 306, segments: 2 });
    });

    it('knows the default alphabet holds à è é ì ò ù but not the Vietnamese letters', () => {
      expect(encodingOf('àèéìòù ÄÖÑÜ @£$¥ Ç Øø')).to.equal('GSM7');
      for (const ch of 'ăâđêôơưĂÂĐÊÔƠƯáảãạ') expect(encodingOf(ch), ch).to.equal('UCS2');
      expect(encodingOf('`')).to.equal('UCS2');
    });
  });

  describe('UCS-2', () => {
    it('counts 70 characters as one segment and 71 as two', () => {
      expect(countSms(ucs(70))).to.deep.equal({ encoding: 'UCS2', units: 70, segments: 1 });
      expect(countSms(ucs(71))).to.deep.equal({ encoding: 'UCS2', units: 71, segments: 2 });
    });

    it('cuts long texts into parts of 67', () => {
      expect(countSms(ucs(134)).segments).to.equal(2);
      expect(countSms(ucs(135)).segments).to.equal(3);
      expect(countSms(ucs(201)).segments).to.equal(3);
      expect(countSms(ucs(202)).segments).to.equal(4);
    });

    it('makes a whole message UCS-2 for one character outside GSM-7, counting GSM characters as one unit', () => {
      expect(countSms(`${gsm(69)}ệ`)).to.deep.equal({ encoding: 'UCS2', units: 70, segments: 1 });
      expect(countSms(`${gsm(70)}ệ`)).to.deep.equal({ encoding: 'UCS2', units: 71, segments: 2 });
      // an extension character is one unit in UCS-2
      expect(countSms('ệ€').units).to.equal(2);
    });

    it('counts a character outside the basic plane as two units and never splits it', () => {
      expect(countSms('😀')).to.deep.equal({ encoding: 'UCS2', units: 2, segments: 1 });
      const t = `${ucs(66)}😀${ucs(1)}`; // 69 units; one part
      expect(countSms(t).segments).to.equal(1);
      const u = `${ucs(66)}😀${ucs(3)}`; // 71 units: the pair would straddle 67, so it starts the second part
      expect(countSms(u)).to.deep.equal({ encoding: 'UCS2', units: 71, segments: 2 });
      // 134 units fit two parts of 67, but the pair at units 67-68 would be cut: 66 | 2 + 65 | 1
      const w = `${ucs(66)}😀${ucs(66)}`;
      expect(countSms(w)).to.deep.equal({ encoding: 'UCS2', units: 134, segments: 3 });
    });
  });

  describe('withoutDiacritics', () => {
    it('turns Vietnamese into plain letters and the text into GSM-7', () => {
      const text = 'Sở LĐTBXH: Trợ cấp tháng 12/2026 của Ông Nguyễn Văn Đức 500.000đ đã chuyển vào TK ***6789. Ưu tiên ổn định.';
      const plain = withoutDiacritics(text);
      expect(plain).to.equal('So LDTBXH: Tro cap thang 12/2026 cua Ong Nguyen Van Duc 500.000d da chuyen vao TK ***6789. Uu tien on dinh.');
      expect(encodingOf(plain)).to.equal('GSM7');
      expect(countSms(text).encoding).to.equal('UCS2');
    });

    it('strips every tone on every vowel, in composed or decomposed input', () => {
      expect(withoutDiacritics('àáảãạ ằắẳẵặ ầấẩẫậ èéẻẽẹ ềếểễệ ìíỉĩị òóỏõọ ồốổỗộ ờớởỡợ ùúủũụ ừứửữự ỳýỷỹỵ')).to.equal(
        'aaaaa aaaaa aaaaa eeeee eeeee iiiii ooooo ooooo ooooo uuuuu uuuuu yyyyy',
      );
      expect(withoutDiacritics('Nguye\u0302\u0303n')).to.equal('Nguyen');
      expect(withoutDiacritics('ĂÂĐÊÔƠƯ')).to.equal('AADEOOU');
    });

    it('plains typographic punctuation and keeps what it cannot plain', () => {
      expect(withoutDiacritics('“Hỏi” – đáp…')).to.equal('"Hoi" - dap...');
      expect(encodingOf(withoutDiacritics('chào 😀'))).to.equal('UCS2');
    });
  });
});

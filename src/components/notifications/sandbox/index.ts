export {
  buildSmsSandbox,
  SmsSandboxLedger,
  DEFAULT_SMS_BEHAVIOUR,
  type SandboxSms,
  type SmsSandboxBehaviour,
  type SmsSandboxOptions,
} from './sms-sandbox';
export { SANDBOX_SMS_PREFIX } from '../sms-gateways.service';

export { SmsGatewaysService, SANDBOX_SMS_PREFIX, type SmsGateway } from './sms-gateways.service';
export { SmsGatewayClient, type SmsSendOutcome, type SmsAskOutcome } from './sms-gateway.client';
export { NotificationDispatcher, DISPATCHER_DEFAULTS, inQuietHours, quietHoursEnd, type DispatcherOptions } from './dispatcher';
export { NotificationsService } from './notifications.service';
export { Templates } from './templates';
export { registerNotificationRoutes, smsReportHandler } from './notifications.routes';
export { countSms, withoutDiacritics } from './sms-encoding';
export { NOTIFICATION_EVENTS, type NotificationEvent } from './notification-events';
export { UNTOLD_REASONS, UNTOLD_EXPORT_COLUMNS, untoldLine, vnDate, type UntoldFilter } from './untold';

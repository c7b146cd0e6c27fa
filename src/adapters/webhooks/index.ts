export { type HttpSenderOptions, HttpWebhookSender, resolveHost } from './http-sender.js';

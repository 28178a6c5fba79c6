// Type-checked (never run) with `tsc -p test` under `strict`: representative calls of each
// dialect must compile, and every `@ts-expect-error` line must really be an error (tsc fails on an
// unused one), so the declarations are proved to reject wrong names and wrong parameter types.

import type {
  AmpeAction,
  AmpeParams,
  AmpeReply,
  AmpeRequest,
  BoothErrorCode,
  FtFail,
  MyCallFailure,
  StorageFaceResult,
  SystemInfo,
  WxFail,
} from '@booth/miniapp-types';
import type { My } from '@booth/miniapp-types/interfaces';

// ---- Booth detection --------------------------------------------------------------------------

const inBooth: boolean = window.__BOOTH__ !== undefined;
if (window.__BOOTH__) {
  const version: string = window.__BOOTH__.version;
  const hasMy: boolean = window.__BOOTH__.dialects.includes('my');
  console.log(version, hasMy, window.__BOOTH__.package);
  // @ts-expect-error __BOOTH__ is frozen and typed read-only
  window.__BOOTH__.version = '9';
}
// The globals are also properties of window.
const sameMy: My = window.my;
console.log(inBooth, sameMy === my);

// ---- my.call('ampeHHCommunication') ------------------------------------------------------------

my.call('ampeHHCommunication', { action: 'getDeviceInfo', event: 'open', taskId: '4' }, (res) => {
  if (res.success) {
    const sn: string = res.data.sn;
    const firmware: string = res.data.devicedDisplay;
    console.log(sn, firmware, res.message, res.taskId);
  } else {
    const code: BoothErrorCode = res.errorCode;
    console.log(code, res.message);
  }
});

// The Promise resolves with the same reply (it never rejects).
async function scanOnce(): Promise<string | null> {
  const res = await my.call('ampeHHCommunication', {
    action: 'getQRCode',
    event: 'open',
    taskId: 'scan-1',
    params: { timeout: 5000 },
  });
  if (!res.success) {
    if (res.errorCode === 'TIMEOUT' || res.errorCode === 'CANCELLED') return null;
    throw new Error(res.message);
  }
  return res.data.qrCode;
}
my.call('ampeHHCommunication', { action: 'getQRCode', event: 'close', taskId: 'scan-cancel' });

my.call('ampeHHCommunication', {
  action: 'initFace',
  event: 'open',
  taskId: '12345',
  params: { serviceId: '', query: '', scope: 'auth_user,yingpin' },
});

my.call('ampeHHCommunication', { action: 'getFaceInfo', event: 'open', taskId: '2' }, (res) => {
  if (res.success) {
    const auth: { authCode: string } = JSON.parse(res.data.extInfo);
    const code: number = res.data.code;
    console.log(auth.authCode, code);
  } else {
    console.log(res.data.originFaceInfo);
  }
});

// doStorageFaceInfo answers `data` as a JSON string.
my.call(
  'ampeHHCommunication',
  {
    action: 'doStorageFaceInfo',
    event: 'open',
    taskId: '7',
    params: { appid: 'a', orgOutId: 'o', componentOutId: 'day_label_sign_online', isvPid: 'p' },
  },
  (res) => {
    if (typeof res.data === 'string') {
      const parsed: StorageFaceResult = JSON.parse(res.data);
      console.log(parsed.eventData.subCode, parsed.eventData.uniqueId);
    }
  },
);

my.call(
  'ampeHHCommunication',
  { action: 'getIDCardInfo', event: 'open', taskId: '3', params: { infoType: 'base,photo,other' } },
  (res) => {
    if (res.success) console.log(res.data.name, res.data.idNum, res.data.photoBase64);
  },
);

my.call('ampeHHCommunication', {
  action: 'speech',
  event: 'open',
  taskId: '8',
  params: { text: '请刷脸', pitch: 1.0, rate: 1.0, speechQueue: 1 },
});

my.call('ampeHHCommunication', {
  action: 'receiptPrinting',
  event: 'open',
  taskId: '10',
  params: {
    printList: [
      { text: '测试文字打印', textSize: 26, bold: false, algin: 'left' },
      { imageBase64: '/9j/4AAQ', width: 376, height: 376 },
    ],
  },
});

// Integers the documents' examples send as strings are accepted either way.
my.call('ampeHHCommunication', {
  action: 'startCPUCardLoopRead',
  event: 'open',
  taskId: '15',
  params: { intervalTime: '1000', isComeBackFailed: true },
});
my.call('ampeHHCommunication', {
  action: 'sendCPUCardApduCommands',
  event: 'open',
  taskId: '15',
  params: { commandApdus: ['0084000008', '0084000008'], type: '1', slot: 1 },
}, (res) => {
  if (res.success) console.log(res.data.nfc_commandResults.length);
  else console.log(res.message, res.data.nfc_commandResults ?? []);
});
my.call('ampeHHCommunication', { action: 'startBuzzer', event: 'open', taskId: '15', params: { beep: '50' } });
my.call('ampeHHCommunication', {
  action: 'deviceConfig',
  event: 'open',
  taskId: '16',
  params: { deviceConfig: { exitApplet: 1, hideNavigationBar: 1, hindeNotificationBar: 2 } },
});
my.call('ampeHHCommunication', { action: 'getSecondaryScreenState', event: 'open', taskId: '13' }, (res) => {
  if (res.success) {
    const state: 1 | 0 | -1 = res.data.getSecondaryScreenState;
    console.log(state);
  }
});

// A page's own helper (like the demo's `call(action, params, cb)`) stays typed when it is generic
// over the action.
let taskSeq = 0;
function call<A extends AmpeAction>(action: A, params: AmpeParams<A>, cb?: (res: AmpeReply<A>) => void) {
  const request = { action, event: 'open', taskId: 'task-' + ++taskSeq, params } as AmpeRequest<A>;
  return my.call('ampeHHCommunication', request, cb);
}
call('getQRCode', {}, (res) => console.log(res.success ? res.data.qrCode : res.errorCode));
call('speech', { text: '欢迎' });
// @ts-expect-error the helper checks params against the action too
call('speech', { txt: '欢迎' });

// The Promise helper of docs/uniapp-taro.md, exactly as written there.
let seq = 0;
export function ampe<A extends AmpeAction>(action: A, params: AmpeParams<A>): Promise<AmpeReply<A>> {
  const request = { action, event: 'open', taskId: `t${++seq}`, params } as AmpeRequest<A>;
  return my.call('ampeHHCommunication', request);
}
async function guideExample() {
  const res = await ampe('getQRCode', { timeout: 10000 });
  if (res.success) console.log(res.data.qrCode);
  else if (res.errorCode === 'TIMEOUT') console.log('没有扫码');
  // @ts-expect-error 'txt' is not a field of speech's params (the guide's example)
  my.call('ampeHHCommunication', { action: 'speech', event: 'open', taskId: '2', params: { txt: '欢迎' } });
}
// The guide's way around a conflicting global `my`.
const boothMy = (window as unknown as { my: My }).my;

// @ts-expect-error unknown action name
my.call('ampeHHCommunication', { action: 'getQRcode', event: 'open', taskId: '1' });
// @ts-expect-error event is open or close
my.call('ampeHHCommunication', { action: 'getQRCode', event: 'start', taskId: '1' });
// @ts-expect-error taskId is a string
my.call('ampeHHCommunication', { action: 'getQRCode', event: 'open', taskId: 1 });
// @ts-expect-error speech needs params.text
my.call('ampeHHCommunication', { action: 'speech', event: 'open', taskId: '8' });
// @ts-expect-error speech text must be a string
my.call('ampeHHCommunication', { action: 'speech', event: 'open', taskId: '8', params: { text: 42 } });
// @ts-expect-error initFace needs scope
my.call('ampeHHCommunication', { action: 'initFace', event: 'open', taskId: '1', params: { query: '' } });
// @ts-expect-error the document spells it `algin`
my.call('ampeHHCommunication', {
  action: 'receiptPrinting',
  event: 'open',
  taskId: '10',
  params: { printList: [{ text: 'x', align: 'center' }] },
});
// @ts-expect-error the document spells it `hindeNotificationBar`
my.call('ampeHHCommunication', {
  action: 'deviceConfig',
  event: 'open',
  taskId: '16',
  params: { deviceConfig: { hideNotificationBar: 1 } },
});
// @ts-expect-error beep must be a number or a numeric string
my.call('ampeHHCommunication', { action: 'startBuzzer', event: 'open', taskId: '1', params: { beep: 'loud' } });
my.call('ampeHHCommunication', { action: 'getQRCode', event: 'open', taskId: '1' }, (res) => {
  // @ts-expect-error data is only typed after checking success
  console.log(res.data.qrCode);
  if (res.success) {
    // @ts-expect-error getQRCode's data has no `code`
    console.log(res.data.code);
  }
});
// @ts-expect-error unknown my.call name
my.call('ampeHHCommunicaton', { action: 'getQRCode', event: 'open', taskId: '1' });

// ---- my.on / my.off ----------------------------------------------------------------------------

const onScan = (res: { data: { qrCode: string } }) => console.log('刷二维码监听', res.data.qrCode);
my.on('initQRListener', onScan);
my.off('initQRListener', onScan);
my.off('initQRListener');
my.on('initIDCardListener', (res) => console.log(res.data.name, res.data.idNum));
my.on('initInfraredInductionListener', (res) => console.log(Number(res.data.inductionCode) === 1));
my.on('CPUCardListener', (res) => console.log(res.data.nfc_cardInfo, res.data.code));
my.on('initMicrophoneListener', (res) => console.log(res.data.voiceContent ?? res.data.voicecontent));
my.on('socialSecurityCardListener', (res) => console.log(res.data.idNumber));
my.on('ampeOperationTimeout', (e) => console.log('小程序超时', e.data));

// @ts-expect-error unknown event name
my.on('initQrListener', () => {});
// @ts-expect-error initQRListener delivers {data: {qrCode}}, not a code field
my.on('initQRListener', (res) => console.log(res.data.code));

// ---- other my.call names, my.getSystemInfo ---------------------------------------------------------

my.on('ampeOperationTimeout', () => location.reload());
my.call('ampeStartOperationWatcher', {}, (res) => console.log(res));
my.call('ampeStartOperationWatcher', (res) => console.log(res));

my.call('startBizService', { name: 'open-certify', param: JSON.stringify({ certifyId: 'c', url: 'u' }) }, (verifyResult) => {
  if (verifyResult.resultStatus === '9000') return;
  const errorCode = verifyResult.result && verifyResult.result.errorCode;
  console.log(errorCode);
});
// @ts-expect-error startBizService's param is a JSON string
my.call('startBizService', { name: 'open-certify', param: { certifyId: 'c' } });

my.getSystemInfo({
  success: (res) => {
    if (res.arome_deviceId != null) console.log('terminal', res.arome_deviceId, res.windowWidth);
  },
  fail: (err: MyCallFailure) => console.log(err.errorCode),
});
async function systemInfo(): Promise<SystemInfo | null> {
  const res = await my.getSystemInfo();
  return 'success' in res ? null : res;
}

// ---- wxfaceapp ----------------------------------------------------------------------------------

wxfaceapp.checkWxFacePayOsInfo({
  success(res) {
    const status: 'valid' = res.osStatus;
    console.log(status, res.osSerialNumber, res.screenInfo === 'front-screen');
  },
  fail(res) {
    console.log(res.osErrorMsg ?? res.reply, res.errorCode);
  },
});

wxfaceapp.writeToSerialPort({
  msgToFlush: 'msg',
  success(res) {
    console.log(res.replyCode, res.reply, res.flushedMsg);
  },
  fail(res: WxFail) {
    console.log(res.replyCode, res.reply);
  },
});

wxfaceapp.registKeyBoard({
  keyCodeList: [{ keyCode: '144' }, { keyCode: '157' }],
  success() {
    wxfaceapp.onKeyBoardEvent((res) => console.log('onKeyBoardEvent name = ' + res.keyName));
  },
});

wxfaceapp.facePay({
  requireFaceCode: true,
  success() {
    wxfaceapp.onFacePayPassEvent((res) => console.log(res.replyCode, res.faceCode));
    wxfaceapp.onFacePayFailedEvent((res) => console.log(res.replyCode));
  },
});
wxfaceapp.listenCodePayment({
  success() {
    wxfaceapp.onCodePayEvent((res) => console.log('code scanned = ' + res.code));
  },
});
wxfaceapp.onSpecialCtrlEvent((res) => console.log(res.ctrlCode === '1' ? '收款' : '传码', res.ctrlMsg));
wxfaceapp.onRemoteMessage((res) => console.log(res.senderAppid, res.content));
wxfaceapp.launchMp({ appId: 'a', hostAppId: 'h', miniappType: 0, launchPage: 'pages/index', needLogin: 0 });
wxfaceapp.faceLogin({ enableMultiLogin: true, relaunchUrl: 'pages/pay/pay', complete: (res) => console.log(res.reply) });
wxfaceapp.exitMp();
async function wxOsInfo() {
  const res = await wxfaceapp.checkWxFacePayOsInfo();
  return 'errorCode' in res ? res.errorCode : res.osVersion;
}

// @ts-expect-error unknown wxfaceapp call
wxfaceapp.checkWxFacePayOSInfo({});
// @ts-expect-error writeToSerialPort needs msgToFlush
wxfaceapp.writeToSerialPort({ success() {} });
// @ts-expect-error msgToFlush is a string
wxfaceapp.writeToSerialPort({ msgToFlush: 12 });
// @ts-expect-error keyCodeList items are {keyCode: string}
wxfaceapp.registKeyBoard({ keyCodeList: ['144'] });
// @ts-expect-error miniappType is 0, 1 or 2
wxfaceapp.launchMp({ appId: 'a', hostAppId: 'h', miniappType: 5, launchPage: 'p', needLogin: 0 });
// @ts-expect-error unknown wxfaceapp event
wxfaceapp.onCodePaymentEvent(() => {});
// @ts-expect-error onCodePayEvent delivers `code`, not `qrCode`
wxfaceapp.onCodePayEvent((res) => console.log(res.qrCode));

// ---- ft ----------------------------------------------------------------------------------------

// Without callbacks: a Promise that rejects with FtFail.
async function ocr(path: string) {
  try {
    const res = await ft.finCardOcr({ type: 'IDCard', imagePath: path });
    const ok: boolean = res.errorCode === 0;
    return ok ? res.recogResult : null;
  } catch (e) {
    const fail = e as FtFail;
    console.log(fail.errMsg, fail.errorCode);
    return null;
  }
}
// With callbacks: nothing is returned.
const nothing: void = ft.finFaceAuth({
  idNo: '1',
  name: '张三',
  imagePath: '/tmp/a.jpg',
  success(res) {
    console.log(res.score);
  },
  fail(err) {
    console.log(err.errMsg);
  },
});
ft.finLivenessCheck().then((res) => console.log(res.resultType === 'back', res.faceImgStr));
ft.finOpenOtherApp({ url: 'booth-app://report/pages/print', alertMsg: '打开报告打印?' }).then((res) => console.log(res.errMsg));
ft.finOpenOtherApp({ package: 'report', success: (res) => console.log(res.errMsg) });
ft.finOpenWitnessVideo({
  videoType: 't', videoIp: '127.0.0.1', videoPort: '8906', loginName: 'n', roomId: 'r', roomName: 'rn', appId: 'a',
}).then((res) => console.log(res.videoFlag === '2' ? res.rejectReason : res.message));

async function webrtc() {
  const devicesList = await ft.webrtc.mediaDevices.enumerateDevices();
  const info = await ft.webrtc.mediaDevices.getSupportedConstraints();
  const stream = await ft.webrtc.mediaDevices.getUserMedia({ audio: true, video: true });
  const same = await ft.webrtc.mediaDevices.mediaDevices({ video: true });
  const tracks = await stream.getTracks();
  tracks.forEach((t) => t.stop());
  const pc = await ft.webrtc.createRTCPeerConnection({ iceServers: [{ urls: 'stun:stun.stunprotocol.org' }] });
  pc.addEventListener('icecandidate', (event) => console.log(event.candidate.sdpMid));
  pc.addEventListener('track', (event) => console.log(event.streams[0]?.streamId));
  const offer = await pc.createOffer({ offerToReceiveAudio: true, offerToReceiveVideo: true });
  await pc.setLocalDescription(offer);
  pc.close();
  return [devicesList, info, same.streamId];
}

// @ts-expect-error unknown OCR type
ft.finCardOcr({ type: 'Passport', imagePath: '/a.jpg' });
// @ts-expect-error finFaceAuth needs idNo, name and imagePath
ft.finFaceAuth({ name: '张三' });
// @ts-expect-error with callbacks an ft call returns nothing to await
ft.finLivenessCheck({ success() {} }).then(() => {});
// @ts-expect-error webrtc is Promise only: no success callback
ft.webrtc.mediaDevices.getUserMedia({ video: true, success() {} });
// @ts-expect-error unknown ft call
ft.finOcr({});

console.log(scanOnce, systemInfo, wxOsInfo, ocr, nothing, webrtc, guideExample, boothMy);

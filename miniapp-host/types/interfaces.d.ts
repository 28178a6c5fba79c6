// Types of the objects Booth injects into mini-program pages: `my`, `wxfaceapp` and `ft`.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// This file declares no globals: import what you need from it
// (`import type { AmpeReply } from '@booth/miniapp-types/interfaces'`). `index.d.ts` re-exports
// everything here and also declares the globals `my`, `wxfaceapp`, `ft` and `window.__BOOTH__`.
//
// Names, fields and their Chinese meanings come from the device documents Booth implements
// (seed 000: my / ampeHHCommunication, 001: wxfaceapp, 002: ft, 003: startBizService). Their
// quirks are kept on purpose, because real terminals answer that way: `devicedDisplay`,
// `hindeNotificationBar`, `algin`, `voicecontent`, `conectionState`, doStorageFaceInfo's `data`
// being a JSON string, numbers sent as strings where the documents' examples do.

// ---------------------------------------------------------------------------------------------
// Common
// ---------------------------------------------------------------------------------------------

/** `params` of an action that takes none: `{}` or absent. */
export type NoParams = Record<string, never>;

/** The empty object `{}`: the `data` or reply of a call that returns nothing. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type EmptyData = {};

/**
 * An integer the documents type as `int`/`Integer` but whose own examples send as a string
 * (`"intervalTime": "1000"`, `"type": "1"`, `"beep": "50"`). Booth accepts both spellings.
 */
export type IntLike = number | `${number}`;

/** The three injected objects; a package lists the ones it wants in `miniapp.json` `dialects`. */
export type Dialect = 'my' | 'wxfaceapp' | 'ft';

/** `window.__BOOTH__`: present (and frozen) only when the page runs inside Booth. */
export interface BoothInfo {
  /** Booth's version, e.g. `"0.1.0"`. */
  readonly version: string;
  /** The running package's `id` from its `miniapp.json`. */
  readonly package: string;
  /** The objects injected into this page (the manifest's `dialects`). */
  readonly dialects: readonly Dialect[];
}

/**
 * Booth's stable error codes, sent as `errorCode` next to the human message in every failure
 * reply of every dialect. The value type is the message a failure starts with (terminals speak
 * Chinese, as the documents do); a detail may follow after `": "`.
 */
export interface BoothErrorCodes {
  /** The parameters are malformed: not an object, a missing or empty field, a wrong type, a value out of range. */
  INVALID_PARAMS: '参数错误';
  /** The manifest does not grant the API's permission family, or does not list the dialect. */
  PERMISSION_DENIED: '无权限';
  /** The device is not configured, unplugged or failing (Booth keeps retrying; it works again when it is back). */
  DEVICE_UNAVAILABLE: '设备不可用';
  /** The device is there but the operation failed: e.g. a card answered an error status word or is not the kind of card the call reads. */
  DEVICE_ERROR: '设备执行失败';
  /** No result in time (seed 000's own word, `"超时"`). */
  TIMEOUT: '超时';
  /** Too many calls in flight from one page, or the device is serving another call. */
  BUSY: '设备忙';
  /** Cancelled by a close call, or because the page went away. */
  CANCELLED: '已取消';
  /** The API is documented but this terminal does not provide it, or the name is unknown. */
  UNSUPPORTED: '本终端不支持';
  /** The parameters exceed the size limit (4 MiB of JSON). */
  PAYLOAD_TOO_LARGE: '参数过大';
  /** The call came from a page that has since navigated or reloaded. */
  SESSION_ENDED: '页面会话已结束';
  /** A bug in Booth; the message says more and the log has the details. */
  INTERNAL: '内部错误';
}

/** One of Booth's stable error codes. */
export type BoothErrorCode = keyof BoothErrorCodes;

// ---------------------------------------------------------------------------------------------
// my.call('ampeHHCommunication', {action, event, taskId, params}, cb) — seed 000
// ---------------------------------------------------------------------------------------------

/** `event` of an ampeHHCommunication request: `open`-开启 / `close`-关闭. */
export type AmpeEvent = 'open' | 'close';

/** Result of a face scan (刷脸): getFaceInfo, getFaceInfoPersonCard, enterIDNumber. */
export interface FaceResult {
  /** 支付宝用户 id, e.g. `"2088612116677214"`. */
  alipayUid: string;
  /** 结果码, e.g. `1000`. */
  code: number;
  /**
   * JSON **string** holding `authCode` (刷脸返回的结果,用来获取用户信息必备值):
   * `"{\"authCode\":\"5dc39621…\"}"`. Parse it with `JSON.parse` → {@link FaceExtInfo}.
   */
  extInfo: string;
  /** 刷脸 token. */
  ftoken: string;
  isvResult: boolean;
  subCode: string;
  subMessage: string;
  /** 用于绑定关系的 vid. */
  vid: string;
}

/** `JSON.parse(FaceResult.extInfo)`. */
export interface FaceExtInfo {
  /** 刷脸返回的 authCode: 换取 auth_token 的票据,只能使用一次,24 小时未使用自动过期. */
  authCode: string;
}

/** getFaceInfo failure `data`: 刷脸失败时 data 里有 originFaceInfo,是支付宝刷脸返回的所有信息. */
export interface FaceFailureData {
  originFaceInfo?: unknown;
  [key: string]: unknown;
}

/**
 * `JSON.parse(res.data)` of doStorageFaceInfo (刷脸入库): seed 000 sends `data` as a JSON
 * **string** (注意:data 对应的是 JSONString,解析格式需注意).
 */
export interface StorageFaceResult {
  /** `"rocketResult"`. */
  eventType: string;
  eventData: {
    uid?: string;
    ftoken?: string;
    authCode?: string;
    vid?: string;
    /** 操作流水ID: returned when the user refuses authorisation (subCode `90001`); pass it back with name/certNo. */
    uniqueId?: string;
    /**
     * 错误码: `SUCCESS` 成功, `90001` 请走上传个人信息的链路, `90002` 超时退出, `90003` 主动退出,
     * `90004` 参数有误, `E90612` ISV信息不存在, `E90609` ISV下线, `E90604` 应用信息不存在,
     * `E90201` 组件不存在, `E90204` 组件下线, `E90506` 只支持机构刷脸入库, `E90301` 机构信息不存在,
     * `E90306` 机构下线, `E90305` 机构关联的身份验证表信息不存在, `E90703` 未签约, `E60002` 网络异常,
     * `E60001` BPaaS Service系统异常, `Z1006` 刷脸重试次数超过阈值, `Z1208` 抱歉,无法认出你.
     */
    subCode: string;
    /** 错误信息, e.g. `"成功"`. */
    subMessage: string;
    bizId?: string;
  };
}

/** ID card (身份证) fields; which groups are present depends on `infoType`. */
export interface IDCardInfo {
  /** 姓名 (infoType `base`). */
  name?: string;
  /** 身份证号 (infoType `base`). */
  idNum?: string;
  /** 头像base64 (infoType `photo`). */
  photoBase64?: string;
  /** 签发机关 (infoType `other`). */
  signingOrganization?: string;
  /** 地址 (infoType `other`). 注意门牌号返回的138,正常的数字是138。可能会搜索时对应不上. */
  address?: string;
  /** 民族 (infoType `other`). */
  nation?: string;
  /** 性别 (infoType `other`). */
  sex?: string;
  /** 有效期开始时间, `"20230529"` (infoType `other`). */
  beginTime?: string;
  /** 有效期截止时间, `"20430529"` (infoType `other`). */
  endTime?: string;
  /** 出身年月日, `"19800101"` (infoType `other`). */
  birthDate?: string;
}

/** Social security card (社保卡) fields. */
export interface SocialSecurityCardInfo {
  /** 卡号 */
  cardNumber: string;
  /** 姓名 */
  name: string;
  /** 性别 */
  sex: string;
  /** 社会保障号码 */
  idNumber: string;
  /** 出生日期 */
  birthDate: string;
  /** 发证日期 */
  issueDate: string;
  /** 有效日期 */
  expireDate: string;
  /** 民族 */
  nation: string;
  /** 城市代码 */
  cityCode: string;
  /** 地址 */
  address: string;
  /** 社保卡版本 */
  fullVersion: string;
}

/** A text line of receiptPrinting's `printList`. */
export interface ReceiptText {
  /** 打印的文字内容,默认 `""`. */
  text: string;
  /** 字体大小,默认 26. */
  textSize?: number;
  /** 是否加粗,默认 false. */
  bold?: boolean;
  /** 对齐方式 (spelled `algin` by the document),默认 left: left-左对齐 center-居中 right-右对齐. */
  algin?: 'left' | 'center' | 'right';
}

/** An image of receiptPrinting's `printList`. */
export interface ReceiptImage {
  /** Base64图片,不需要前缀. */
  imageBase64: string;
  /** 图片宽度 (the document's example: 376). */
  width?: number;
  /** 图片高度 (the document's example: 376). */
  height?: number;
}

/** CPU card / PSAM command target: `1`-CPU卡命令, `2`-PSAM卡命令 (the example sends `"1"`). */
export type ApduType = 1 | 2 | '1' | '2';
/** 选择卡槽: `1`-SAM1, `2`-SAM2, 默认 SAM1 (the example sends `"1"`). */
export type SamSlot = 1 | 2 | '1' | '2';

/**
 * Every ampeHHCommunication action: its `params` and the `data` of its success reply
 * (`failData`: the `data` of a failure reply when the document gives one; `{}` otherwise).
 */
export interface AmpeActions {
  /**
   * 初始化刷脸. 建议在 app.js 的 onLaunch 里执行一次 (失败可 3s 后重试); 约两秒后返回结果.
   * 要等到 initFace 返回成功后,才能调用刷脸 getFaceInfo.
   */
  initFace: {
    params: {
      /** 聚合授权参数,多个值逗号后不要有空格. 示例: `"auth_user,yingpin"`. 必填. */
      scope: string;
      /** 刷脸参数,无特殊需要不填. */
      serviceId?: string;
      /** 刷脸参数,无特殊需要不填. */
      query?: string;
    };
    data: EmptyData;
  };
  /** 刷脸. 刷脸失败时 success 为 false,需要展示 message. */
  getFaceInfo: { params: NoParams; data: FaceResult; failData: FaceFailureData };
  /** 刷脸 1:1 人证比对. */
  getFaceInfoPersonCard: {
    params: {
      /** 用户姓名 */
      certName: string;
      /** 用户身份证号 */
      certNo: string;
      /** 用户头像base64 (非必填) */
      certPhotoBase64Str?: string;
    };
    data: FaceResult;
    failData: FaceFailureData;
  };
  /**
   * 刷脸入库. `data` is a JSON **string** ({@link StorageFaceResult}), also on failure (用户拒绝授权
   * returns success false with subCode `90001` and a `uniqueId`: call again with uniqueId, name, certNo).
   */
  doStorageFaceInfo: {
    params: {
      /** 商户appid */
      appid: string;
      /** 机构编码 */
      orgOutId: string;
      /** 组件编码,示例:老年食堂(day_label_sign_online) */
      componentOutId: string;
      /** 支付宝平台ISV的PID */
      isvPid: string;
      /** 操作流水ID (用户拒绝授权返回的字段信息); only on the 传入身份信息 path. */
      uniqueId?: string;
      /** 用户姓名; only on the 传入身份信息 path. */
      name?: string;
      /** 用户身份证; only on the 传入身份信息 path. */
      certNo?: string;
      /** 用户手机号 (选填). */
      phone?: string;
    };
    data: string;
    failData: string | EmptyData;
  };
  /** 刷身份证 (单次). 15s 未刷证返回 success false, message `"超时"`. */
  getIDCardInfo: {
    params: {
      /** 要返回的信息,逗号分隔: `base` (name, idNum), `photo` (photoBase64), `other` (其他字段). 例 `"base,photo,other"`. */
      infoType?: string;
      /** Booth addition, ignored by other terminals: this call's wait in milliseconds (1000–120000). */
      timeout?: IntLike;
    };
    data: IDCardInfo;
  };
  /** 关闭刷身份证. Replies `event: "close"`, message `"关闭成功"`. */
  closeIDCardInfo: { params: { infoType?: string }; data: EmptyData };
  /**
   * 刷二维码 (单次): 请求一次,返回一次. Booth waits 15 s by default and answers `TIMEOUT` (`"超时"`);
   * `{event: "close"}` cancels the page's pending getQRCode calls (they answer `CANCELLED`).
   */
  getQRCode: {
    params: {
      /** Booth addition, ignored by other terminals: this call's wait in milliseconds (1000–120000). */
      timeout?: IntLike;
    };
    data: {
      /** 刷二维码返回的结果 */
      qrCode: string;
    };
  };
  /** 开启麦克风持续录音; data arrives through `my.on('initMicrophoneListener')`. */
  startMicrophoneListener: {
    params: {
      /** 2.9.0 版本及之后已废弃该字段. */
      intervalTime?: IntLike;
      /** 是否返回源格式 byte[]: true 以 byte[] 字符串格式传输 (`voicecontent`), false 转换为 base64 (`voiceContent`). */
      isMicrophoneSourceData?: boolean;
    };
    data: EmptyData;
  };
  /** 停止麦克风持续录音 (Booth: any page may stop a recording left running). */
  stopMicrophoneListener: { params: NoParams; data: EmptyData };
  /** 开启单次录音. */
  startMicrophone: { params: NoParams; data: EmptyData };
  /** 停止单次录音,返回录音. */
  stopMicrophone: {
    params: NoParams;
    data: {
      /** 录音结果: 采样率16K,采样位宽16bit 的 mp3 → byte[] → base64. */
      voiceContent: string;
    };
  };
  /** 获取麦克风录音状态 (小程序崩溃或退出时录音可能还在继续). */
  getMicrophoneState: {
    params: NoParams;
    data: {
      /** 是否持续录音状态: 1 是在录音, 0 不是. */
      microphoneListenerState: 0 | 1;
      /** 是否单次录音状态: 1 是在录音, 0 不是. */
      microphoneState: 0 | 1;
    };
  };
  /** 获取设备信息. */
  getDeviceInfo: {
    params: NoParams;
    data: {
      /** 设备sn */
      sn: string;
      /** 设备型号 */
      deviceModel: string;
      /** app版本号 (Booth: its own version). */
      appVersion: string;
      /** Android版本号 (Booth: the OS version, kept for pages written for Android terminals). */
      androidVersion: string;
      /** Booth addition: the operating system's name. */
      osVersion?: string;
      /** 设备ip */
      deviceIP: string;
      /** 设备固件号 (spelled `devicedDisplay` by the document). */
      devicedDisplay: string;
    };
  };
  /** 语音播报. */
  speech: {
    params: {
      /** 要播报的文字内容 */
      text: string;
      /** 音调,值越大声音越尖(女声),值越小则变成男声,1.0 是常规. Booth: 0.1–4.0, mapped onto the engine's range. */
      pitch?: number;
      /** 语速,1.0 是常规. Booth: 0.1–4.0, mapped onto the engine's range. */
      rate?: number;
      /** 0: 播完上次才开始播当前 (默认); 1: 打断上一次播报内容,播报当前. */
      speechQueue?: 0 | 1;
    };
    data: EmptyData;
  };
  /** 语音停止. */
  speechStop: { params: NoParams; data: EmptyData };
  /**
   * 手输身份证号 (+ 刷脸). 超时返回 message `"手输证件号超时"`, 取消返回 `"取消手输证件号"`.
   */
  enterIDNumber: {
    params: {
      /** Booth addition, ignored by other terminals: the keypad's wait in milliseconds (5000–300000). */
      timeout?: IntLike;
    };
    /** Booth answers `idNum` only: the face-scan fields come from the Alipay service of seed 000's terminal. */
    data: Partial<FaceResult> & {
      /** 用户输入的身份证号 */
      idNum: string;
    };
  };
  /** 小票打印. */
  receiptPrinting: {
    params: {
      /** 打印内容: text lines and images, in order. */
      printList: Array<ReceiptText | ReceiptImage>;
    };
    data: EmptyData;
  };
  /** 开启红外感应; data arrives through `my.on('initInfraredInductionListener')`. */
  startInfraredInductionListener: {
    params: {
      /** 间隔多久返回红外感应信息 (毫秒,取值范围 2000-5000,建议 3000),默认 3000. */
      intervalTime?: IntLike;
    };
    data: EmptyData;
  };
  /** 停止红外感应. */
  stopInfraredInductionListener: { params: NoParams; data: EmptyData };
  /** 副屏显示图片 (双屏异显). */
  openSecondaryScreen: {
    params: {
      /** 图片的base64 */
      secondaryScreenBase64: string;
    };
    data: EmptyData;
  };
  /** 关闭副屏. */
  closeSecondaryScreen: { params: NoParams; data: EmptyData };
  /** 副屏状态. */
  getSecondaryScreenState: {
    params: NoParams;
    data: {
      /** 副屏状态: 显示 1, close 0, 没加载到副屏 -1. */
      getSecondaryScreenState: 1 | 0 | -1;
    };
  };
  /** 读社保卡 (单次): 请求一次,返回一次. */
  getSocialSecurityCardInfo: { params: NoParams; data: SocialSecurityCardInfo };
  /** 开启社保卡持续读取; cards arrive through `my.on('socialSecurityCardListener')`. */
  socialSecurityCardConfig: { params: NoParams; data: EmptyData };
  /**
   * 开启 CPU 卡循环读卡; cards arrive through `my.on('CPUCardListener')`. 单次 APDU 操作前请先
   * stopCPUCardLoopRead.
   */
  startCPUCardLoopRead: {
    params: {
      /** 同卡推送间隔时间 (ms),默认 1000 (the example sends `"1000"`). */
      intervalTime?: IntLike;
      /** 是否返回寻卡失败结果 (2.9.8). */
      isComeBackFailed?: boolean;
    };
    data: EmptyData;
  };
  /** 停止 CPU 卡循环读卡. */
  stopCPUCardLoopRead: { params: NoParams; data: EmptyData };
  /**
   * 获取卡信息 "上电". Device errors come as **success true** with `nfc_cardInfo` set to an error
   * code: `"-1"` 初始化失败, `"-2"` 寻卡失败, `"-3"` 防碰撞失败, `"-4"` 选卡失败, `"-5"` 上电失败.
   */
  readOnceCPUCardInfo: {
    params: NoParams;
    data: {
      /** cpu卡读取信息: on Booth, the card's ATR in hex (or an error code, see above). */
      nfc_cardInfo: string;
    };
  };
  /**
   * 执行单条 APDU 命令. Device errors come as **success true** with `nfc_resultInfo` `"-1"`
   * 初始化失败 or `"-2"` 执行APDU失败.
   */
  sendCPUCardCommand: {
    params: {
      /** APDU命令, e.g. `"0084000008"`. */
      commandApdu: string;
      /** 1-CPU卡命令, 2-PSAM卡命令. */
      type: ApduType;
      /** 选择卡槽 (搭配 type=2 使用),默认 SAM1. */
      slot?: SamSlot;
    };
    data: {
      /** APDU命令返回结果: on Booth, the response in hex with its status word (`"…9000"`), or `"-1"` / `"-2"`. */
      nfc_resultInfo: string;
    };
  };
  /**
   * 执行 APDU 命令集. Failure: success false, message `"失败:<code>"` (`-1` 初始化失败, `-2`
   * 执行APDU失败, `-100` 执行APDU命令成功但状态不对), `data.nfc_commandResults` the results so far.
   */
  sendCPUCardApduCommands: {
    params: {
      /** APDU命令集 */
      commandApdus: string[];
      /** 1-CPU卡命令, 2-PSAM卡命令. */
      type: ApduType;
      /** 选择卡槽 (搭配 type=2 使用),默认 SAM1. */
      slot?: SamSlot;
    };
    data: {
      /** APDU命令结果 */
      nfc_commandResults: string[];
    };
    failData: { nfc_commandResults?: string[] };
  };
  /**
   * PSAM 卡冷复位. Device errors come as **success true** with `nfc_resultInfo` `"-1"` 初始化失败
   * or `"-2"` 冷复位失败.
   */
  psamCardColdReset: {
    params: {
      /** 选择卡槽,默认 SAM1. */
      slot?: SamSlot;
    };
    data: {
      /** 冷复位命令返回结果 */
      nfc_resultInfo: string;
    };
  };
  /** 蜂鸣器. */
  startBuzzer: {
    params: {
      /** 蜂鸣器时长, ms (the example sends `"50"`). Booth: 10–5000. */
      beep: IntLike;
    };
    data: EmptyData;
  };
  /** 设备配置: 关闭小程序、显示/隐藏导航栏、禁用/启用通知栏 (本次运行有效). */
  deviceConfig: {
    params: {
      deviceConfig: {
        /** 关闭小程序: 1-关闭. */
        exitApplet?: 1;
        /** 导航栏: 1-隐藏, 2-开启. */
        hideNavigationBar?: 1 | 2;
        /** 通知栏: 1-禁用, 2-开启 (spelled `hindeNotificationBar` by the document). */
        hindeNotificationBar?: 1 | 2;
      };
    };
    data: EmptyData;
  };
}

/** An ampeHHCommunication action name. */
export type AmpeAction = keyof AmpeActions;

/** `params` of an action. */
export type AmpeParams<A extends AmpeAction> = AmpeActions[A]['params'];
/** `data` of an action's success reply. */
export type AmpeData<A extends AmpeAction> = AmpeActions[A]['data'];
/** `data` of an action's failure reply. */
export type AmpeFailureData<A extends AmpeAction> = AmpeActions[A] extends { failData: infer F } ? F : EmptyData;

type ParamsField<P> = {} extends P ? { /** 配置参数 */ params?: P } : { /** 配置参数 */ params: P };

/** The request object of `my.call('ampeHHCommunication', request, cb)`. */
export type AmpeRequest<A extends AmpeAction = AmpeAction> = {
  /** 指令, e.g. `getQRCode`-二维码, `getIDCardInfo`-身份证, `getFaceInfo`-刷脸, `getDeviceInfo`-设备信息. */
  action: A;
  /** `open`-开启 / `close`-关闭. Booth reads a missing one as `open`. */
  event: AmpeEvent;
  /** 任务id: 耗时任务时与其他任务区分比对用; echoed in the reply. */
  taskId: string;
} & ParamsField<AmpeParams<A>>;

/** An ampeHHCommunication success reply (`success: true` → 解析 data). */
export interface AmpeSuccess<A extends AmpeAction = AmpeAction> {
  /** 与请求 action 对应 */
  action: A;
  /** 与请求 event 对应 (closeIDCardInfo answers `close`). */
  event: AmpeEvent;
  /** 与请求 taskId 对应 */
  taskId: string;
  success: true;
  /** 结果描述, `"成功"` (some document examples spell the key `"message "`; Booth sends `message`). */
  message: string;
  /** 返回结果数据 */
  data: AmpeData<A>;
}

/** An ampeHHCommunication failure reply (`success: false` → 处理 message). */
export interface AmpeFailure<A extends AmpeAction = AmpeAction> {
  /** 与请求 action 对应 (echoed exactly as sent; `""` when the request could not be read). */
  action: A;
  /** 与请求 event 对应 (`"open"` when the request could not be read). */
  event: AmpeEvent;
  /** 与请求 taskId 对应 (`""` when the request could not be read). */
  taskId: string;
  success: false;
  /** 结果描述: the error's message, e.g. `"超时"`, `"参数错误: action 不能为空"`. */
  message: string;
  /** Booth's stable error code (other terminals do not send it). */
  errorCode: BoothErrorCode;
  /** `{}`, or the failure data the document gives for this action. */
  data: AmpeFailureData<A>;
}

/** What `my.call('ampeHHCommunication', …)` answers: check `success` first. */
export type AmpeReply<A extends AmpeAction = AmpeAction> = AmpeSuccess<A> | AmpeFailure<A>;

// ---------------------------------------------------------------------------------------------
// my.on(name, cb) — seed 000
// ---------------------------------------------------------------------------------------------

/** A microphone chunk: which key is set depends on `isMicrophoneSourceData`. */
export interface MicrophoneChunk {
  /** isMicrophoneSourceData=false: 录音,原始数据为采样率16K,采样位宽16bit的 PCM, byte[] → base64. */
  voiceContent?: string;
  /** isMicrophoneSourceData=true: byte[] 字符串格式, e.g. `"[-106,-1,-62…]"` (spelled lower-case by the document). */
  voicecontent?: string;
}

/** The `data` each `my.on` event delivers (the callback gets `{data}`). */
export interface MyEvents {
  /** 刷身份证监听: 同 getIDCardInfo 的 data. */
  initIDCardListener: IDCardInfo;
  /** 刷二维码监听: 同 getQRCode 的 data. */
  initQRListener: {
    /** 刷二维码返回的结果 */
    qrCode: string;
  };
  /** 麦克风监听 (after startMicrophoneListener). */
  initMicrophoneListener: MicrophoneChunk;
  /**
   * 小程序超时 (after `my.call('ampeStartOperationWatcher')`; the terminal's configured idle time,
   * default 30 s). The document does not describe the payload.
   */
  ampeOperationTimeout: Record<string, unknown>;
  /** 红外感应监听 (after startInfraredInductionListener). */
  initInfraredInductionListener: {
    /**
     * 1 感应到有人, 0 未感应到. The document's table says int, its example sends `"1"`: compare
     * with `Number(inductionCode) === 1`.
     */
    inductionCode: 0 | 1 | '0' | '1';
  };
  /** 读取社保卡信息 (after socialSecurityCardConfig). */
  socialSecurityCardListener: SocialSecurityCardInfo;
  /** CPU卡信息 (after startCPUCardLoopRead). */
  CPUCardListener: {
    /** cpu卡读取信息 */
    nfc_cardInfo: string;
    /** -1: 寻卡失败, 0: 成功 (2.9.8). */
    code?: 0 | -1;
  };
}

/** A `my.on` event name. */
export type MyEventName = keyof MyEvents;

/** What a `my.on(name, cb)` callback receives. */
export interface MyEventReply<E extends MyEventName = MyEventName> {
  data: MyEvents[E];
}

// ---------------------------------------------------------------------------------------------
// Other my.call names and my.getSystemInfo — seeds 000 and 003
// ---------------------------------------------------------------------------------------------

/** Failure of a top-level `my.call` name or of `my.getSystemInfo`. */
export interface MyCallFailure {
  success: false;
  /** The error's message, e.g. `"本终端不支持: …"`. */
  message: string;
  /** Booth's stable error code. */
  errorCode: BoothErrorCode;
}

/** `my.call('startBizService', params)`: 实人认证 (seed 003). */
export interface StartBizServiceParams {
  /** `"open-certify"` */
  name: 'open-certify';
  /** `JSON.stringify({certifyId, url})`: 认证ID和认证URL from the server's initialisation. */
  param: string;
}

/** Verification result (`verifyResult`) of startBizService. */
export interface StartBizServiceResult {
  /** 认证流程结果状态码: `9000` 认证通过, `6001` 用户取消, `6002` 网络异常, `4000` 业务异常. */
  resultStatus: '9000' | '6001' | '6002' | '4000';
  /** May be null or missing (做防御性处理); empty for 6001 / 6002. */
  result?: {
    /** 本次认证流水号 */
    certifyId?: string;
    /**
     * 业务异常错误码 (resultStatus 4000): `UNKNOWN_ERROR` 未知异常, `SYSTEM_ERROR` 系统异常,
     * `USER_IS_NOT_CERTIFY` 用户未认证, or one of Booth's codes.
     */
    errorCode?: string;
  } | null;
}

/** Booth's failure of startBizService: a 4000 业务异常 carrying Booth's code. */
export interface StartBizServiceFailure extends MyCallFailure {
  resultStatus: '4000';
  result: { errorCode: BoothErrorCode };
}

/** The top-level `my.call` names other than ampeHHCommunication: params and reply. */
export interface MyCalls {
  /**
   * 开启小程序操作超时倒计时; when it runs out, `my.on('ampeOperationTimeout')` fires. The
   * document does not describe the reply.
   */
  ampeStartOperationWatcher: { params: NoParams; reply: Record<string, unknown> | MyCallFailure };
  /** 唤起实人认证服务 (seed 003). */
  startBizService: { params: StartBizServiceParams; reply: StartBizServiceResult | StartBizServiceFailure };
}

/** `my.getSystemInfo` success object. */
export interface SystemInfo {
  /**
   * 设备号: present on terminals, absent on phones — seed 000's FAQ tells a terminal from a phone
   * by `res.arome_deviceId != null`. Booth: the terminal serial number.
   */
  arome_deviceId?: string;
  /** Booth: `"booth"` (支付宝: `"alipay"`). */
  app: string;
  /** 品牌 (Booth: the machine's vendor). */
  brand: string;
  /** 型号 */
  model: string;
  /** Booth: `"Linux"` or `"Windows"`. */
  platform: string;
  /** 系统版本 */
  system: string;
  /** 客户端版本 (Booth: its own version). */
  version: string;
  /** 设备像素比 */
  pixelRatio: number;
  /** 屏幕宽度 (物理像素) */
  screenWidth: number;
  /** 屏幕高度 (物理像素) */
  screenHeight: number;
  /** 屏幕尺寸 (CSS 像素) */
  screen: { width: number; height: number };
  /** 窗口宽度 */
  windowWidth: number;
  /** 窗口高度 */
  windowHeight: number;
  /** 语言 */
  language: string;
  /** 状态栏高度 (Booth: 0) */
  statusBarHeight: number;
  /** 标题栏高度 (Booth: 0) */
  titleBarHeight: number;
  /** 用户设置字体大小 */
  fontSizeSetting: number;
  // Fields the Alipay client sends and Booth does not:
  apiLevel?: number;
  appMode?: string;
  bluetoothEnabled?: boolean;
  bluetoothAuthorized?: boolean;
  cameraAuthorized?: boolean;
  currentBattery?: string;
  isIphoneXSeries?: boolean;
  locationAuthorized?: boolean;
  locationEnabled?: boolean;
  microphoneAuthorized?: boolean;
  notificationAuthorized?: boolean;
  overlayAuthorized?: boolean;
  performance?: string;
  storage?: string;
  transparentTitle?: boolean;
  wifiEnabled?: boolean;
}

/** Options of `my.getSystemInfo`. */
export interface GetSystemInfoOptions {
  success?: (res: SystemInfo) => void;
  fail?: (err: MyCallFailure) => void;
  complete?: (res: SystemInfo | MyCallFailure) => void;
}

/** A top-level `my.call` name (besides ampeHHCommunication), or `getSystemInfo`. */
export type MyTopLevelCallName = keyof MyCalls | 'getSystemInfo';

/**
 * `my`: the Alipay-style device vendor API (seed 000, 003). Every call answers exactly once, through
 * the callback and the returned Promise (which never rejects: failures are replies too).
 */
export interface My {
  /**
   * 小程序发送指令对象给 app,app 处理完后通过 res 返回 (单次有效).
   *
   * ```ts
   * my.call('ampeHHCommunication', { action: 'getQRCode', event: 'open', taskId: '3' }, (res) => {
   *   if (res.success) console.log(res.data.qrCode); else console.log(res.message, res.errorCode);
   * });
   * ```
   */
  call<A extends AmpeAction>(
    name: 'ampeHHCommunication',
    request: AmpeRequest<A>,
    callback?: (res: AmpeReply<A>) => void,
  ): Promise<AmpeReply<A>>;
  /** `my.call('ampeStartOperationWatcher', {}, cb)` / `my.call('startBizService', {name, param}, cb)`. */
  call<N extends keyof MyCalls>(
    name: N,
    params: MyCalls[N]['params'],
    callback?: (res: MyCalls[N]['reply']) => void,
  ): Promise<MyCalls[N]['reply']>;
  /** `my.call(name, cb)`: params default to `{}`. */
  call<N extends 'ampeStartOperationWatcher'>(
    name: N,
    callback?: (res: MyCalls[N]['reply']) => void,
  ): Promise<MyCalls[N]['reply']>;

  /** 打开一个持续监听: app 会持续发送数据 res (`{data}`). */
  on<E extends MyEventName>(name: E, callback: (res: MyEventReply<E>) => void): void;
  /** Stops one listener, or every listener of the event when `callback` is omitted (Booth addition). */
  off<E extends MyEventName>(name: E, callback?: (res: MyEventReply<E>) => void): void;

  /** 获取设备参数 (包含设备号、当前小程序运行环境). */
  getSystemInfo(options?: GetSystemInfoOptions): Promise<SystemInfo | MyCallFailure>;
}

// ---------------------------------------------------------------------------------------------
// wxfaceapp — seed 001
// ---------------------------------------------------------------------------------------------

/** The usual success object of a wxfaceapp call. */
export interface WxReply {
  /** 返回码, `"0"` 表示成功. */
  replyCode: string;
  /** 返回信息 */
  reply: string;
}

/**
 * Booth's failure object of every wxfaceapp call (`fail(res)`): `replyCode` is the API's documented
 * code where it has one, else `"-6"` (机具不支持此功能) for UNSUPPORTED / TIMEOUT, `"-4"` for
 * INVALID_PARAMS, `"-1"` otherwise.
 */
export interface WxFail {
  /** 具体返回码 (see each API). */
  replyCode: string;
  /** 错误具体信息 */
  reply: string;
  /** Booth's stable error code. */
  errorCode: BoothErrorCode;
}

/** success / fail / complete of a wxfaceapp call. */
export interface WxCallbacks<S, F = WxFail> {
  success?: (res: S) => void;
  fail?: (res: F) => void;
  complete?: (res: S | F) => void;
}

/**
 * A wxfaceapp call (AsyncJsApi): `wxfaceapp.name({...params, success, fail, complete})`. The returned
 * Promise resolves with the same object the callbacks got (success or failure).
 */
export type WxCall<P, S, F = WxFail> = {} extends P
  ? (options?: P & WxCallbacks<S, F>) => Promise<S | F>
  : (options: P & WxCallbacks<S, F>) => Promise<S | F>;

/** checkWxFacePayOsInfo success object. */
export interface WxOsInfo {
  /** 该青蛙机具中青蛙App的版本号 (Booth: its version). */
  osVersion: string;
  /** 青蛙机具与人脸App状态,成功回调返回 `"valid"`. */
  osStatus: 'valid';
  /** 该青蛙机具的设备号 */
  osSerialNumber: string;
  /** 小程序容器版本号,目前与 osVersion 相同. */
  appVersion: string;
  /** 设备信息: FacePay-L1 青蛙基础版, FacePay-L2 青蛙PRO版, unofficial-device 非官方设备 (Booth). */
  deviceInfo: 'FacePay-L1' | 'FacePay-L2' | 'unofficial-device';
  /** 运行模式: sdk 运行模式, lpos 青蛙运行模式 (Booth). */
  runningMode: 'sdk' | 'lpos';
  /** 小程序运行的屏幕: front-screen 前屏, back-screen 背屏 (Booth: the secondary window). */
  screenInfo: 'front-screen' | 'back-screen';
}

/** A key of registKeyBoard's `keyCodeList`. */
export interface WxKeyCode {
  /** Android KeyCode, e.g. `"144"` (青蛙原生小键盘按键 1), `"157"` (+号). */
  keyCode: string;
}

/** The wxfaceapp calls (AsyncJsApi). */
export interface WxfaceappCalls {
  /**
   * 获取系统信息: 建议在小程序运行时首先调用. Failure: the document's `osErrorMsg`; Booth's
   * failures carry `{replyCode, reply, errorCode}`.
   */
  checkWxFacePayOsInfo: WxCall<EmptyData, WxOsInfo, WxFail & { /** 获取系统信息失败的错误提示 */ osErrorMsg?: string }>;
  /**
   * 数据写串口: 经由人脸App通过串口传入 POS 机. Success: replyCode `"0"`, reply `"success"`;
   * failure: replyCode `"-1"` 写串口失败.
   */
  writeToSerialPort: WxCall<
    {
      /** 需要通过串口传入POS机的信息 */
      msgToFlush: string;
    },
    WxReply & {
      /** 成功写入串口的信息 */
      flushedMsg: string;
    }
  >;
  /**
   * 启动后屏小程序 (青蛙PRO). Success reply `"suc calling"`. Fail replyCode: `"-1"` 后屏小程序正在启动,
   * `"-2"` 内部错误, `"-3"` 人脸支付已经在运行, `"-4"` 参数设置有误, `"-5"` 当前机具不支持, `"-6"` 机具不支持此功能.
   * Booth: `appId` names a `[apps.<appId>]` catalogue app of booth.toml; `launchPage` is a path in its
   * package (`pages/pay`, `pages/pay.html`; empty = its entry); `-6` without a second monitor.
   */
  launchMp: WxCall<
    {
      /** 需要启动的后屏小程序的AppId */
      appId: string;
      /** 后屏小程序的主体ID */
      hostAppId: string;
      /** 小程序的版本: 0 正式版, 1 开发版 (not supported), 2 体验版. */
      miniappType: 0 | 1 | 2;
      /** 小程序的启动页面 */
      launchPage: string;
      /** 是否需要登录态: 0 不需要, 1 需要. */
      needLogin: 0 | 1;
    },
    WxReply
  >;
  /** 退出小程序 (同时清除用户登录态). 调用即生效,无回调信息. */
  exitMp: WxCall<EmptyData, Partial<WxReply>>;
  /**
   * 小程序间消息发送 (青蛙PRO, ≤ 2000 字符). Success reply `"suc sending msg"`. Fail replyCode:
   * `"-1"` 后屏小程序正在启动, `"-2"` Appid不匹配, `"-3"` 字符数超出限制, `"-4"` 输入参数有误,
   * `"-5"` 运行状态有误, `"-6"` 机具不支持此功能, `"-7"` 未知错误, `"-8"` 发送消息超时.
   * Booth: `-8` when the target page does not listen (onRemoteMessage) within 3 s.
   */
  postMsg: WxCall<
    {
      /** 接受消息的小程序的AppId */
      targetAppid: string;
      /** 传递的消息内容 */
      content: string;
    },
    WxReply
  >;
  /**
   * 注册监听键盘输入; key presses then arrive through `onKeyBoardEvent`. replyCode `"0"` 成功,
   * `"-1"` 输入参数解析失败; reply `"Success register to listen keyboard event"`.
   */
  registKeyBoard: WxCall<
    {
      /** 需要监听的按键的 Android KeyCode; 不可为空,子 Item 也不可为空. */
      keyCodeList: WxKeyCode[];
    },
    WxReply
  >;
  /**
   * 启动刷脸支付; results arrive through onFacePayPassEvent / onFacePayFailedEvent /
   * onQueryPaymentSucEvent / onQueryPaymentFailedEvent. Fail replyCode: `"-1"` 未知错误, `"-2"` 内部错误,
   * `"-3"` 人脸支付已经在运行, `"-4"` 无网络, `"-5"` 当前机具不支持, `"-6"` 超时.
   */
  facePay: WxCall<
    {
      /** true: 付款码不传入收银机,通过 onFacePayPassEvent 回传给小程序 (小程序独立收银). 默认 false. */
      requireFaceCode?: boolean;
    },
    WxReply
  >;
  /**
   * 声明监听扫码器 (青蛙PRO): codes then arrive through `onCodePayEvent`. 本身只是一条注册通知,不存在错误码.
   */
  listenCodePayment: WxCall<EmptyData, Partial<WxReply>>;
  /**
   * 快速支付: 刷脸登录后 45 秒内、一次启动过程只能调用一次. Success reply `"suc launching quick pay"`.
   */
  quickPay: WxCall<
    {
      /** true: 返回付款码 faceCode. */
      requireFaceCode?: boolean;
    },
    WxReply & {
      /** 付款码 (requireFaceCode=true 时返回). */
      faceCode?: string;
    }
  >;
  /** 快速支付是否可用: success → quickPay; fail → facePay. Success reply `"ok"`. */
  ableToQuickPay: WxCall<EmptyData, WxReply>;
  /** 获取上一笔支付记录: 2.13 版本下线,不再提供服务 (Booth answers UNSUPPORTED). */
  getLastPayResult: WxCall<Record<string, unknown>, Record<string, unknown>>;
  /** 青蛙App此时是否具有登录态: success 具备 (可 wx.login), fail 不具备 (先 faceLogin). 无回调参数. */
  isLoginOnFaceApp: WxCall<EmptyData, Partial<WxReply>>;
  /**
   * 青蛙刷脸登录 (运行中登录). Success reply `"face login suc"` or `"already in login status, no need
   * to face login"`; fail replyCode as facePay's.
   */
  faceLogin: WxCall<
    {
      /** 是否开启多次登录,默认 false. */
      enableMultiLogin?: boolean;
      /** 登录成功后重新路由至此页面, e.g. `"pages/pay/pay"`. */
      relaunchUrl?: string;
    },
    WxReply
  >;
  /** 退出登录. Success reply `"logout suc!"`; fail replyCode `"-1"` 登出失败. */
  logoutOnFaceApp: WxCall<EmptyData, WxReply>;
}

/** A wxfaceapp call name. */
export type WxfaceappCallName = keyof WxfaceappCalls;

/** What each wxfaceapp event (JsEvent) callback receives. */
export interface WxfaceappEvents {
  /** 小程序间消息接受 (青蛙PRO). */
  onRemoteMessage: {
    /** 发送本条消息的小程序Appid */
    senderAppid: string;
    /** 传递的消息内容 */
    content: string;
    /** Read by the document's example; not in its table. */
    replyCode?: string;
  };
  /** 监听键盘输入 (after registKeyBoard). */
  onKeyBoardEvent: {
    /** 按键名 */
    keyName: string;
  };
  /** 刷脸成功: replyCode `"0"`, reply `"face pay finished"`. */
  onFacePayPassEvent: WxReply & {
    /** 付款码 (facePay 传入 requireFaceCode=true 时才会返回). */
    faceCode?: string;
  };
  /** 刷脸失败: replyCode `"-1"` 未知错误, `"-6"` 超时, `"-7"` 用户取消支付, `"-8"` 用户刷脸多次失败,转二维码支付. */
  onFacePayFailedEvent: WxReply;
  /** 查单成功: replyCode `"0"`, reply `"query payment success"`. */
  onQueryPaymentSucEvent: WxReply;
  /**
   * 查单失败: replyCode `"-1"` 未知错误, `"-6"` 超时, `"-10"` 查单失败, `"-11"` 用户刷脸多次失败,转二维码支付,
   * `"-12"` 查单参数有误.
   */
  onQueryPaymentFailedEvent: WxReply;
  /** 扫码支付事件 (after listenCodePayment): replyCode `"0"`, reply `"code payment happens"`. */
  onCodePayEvent: WxReply & {
    /** 被扫描的码的具体值 */
    code: string;
  };
  /** 会员场景特殊指令 (收银员的控制). */
  onSpecialCtrlEvent: {
    /** `"0"` 传码, `"1"` 收款. */
    ctrlCode: '0' | '1';
    /** `"传码"` or `"收款"`. */
    ctrlMsg: string;
  };
}

/** A wxfaceapp event name. */
export type WxfaceappEventName = keyof WxfaceappEvents;

/** `wxfaceapp.onXxx(callback)`: registers a listener (there is no off). */
export type WxfaceappEventMethods = {
  [E in WxfaceappEventName]: (callback: (res: WxfaceappEvents[E]) => void) => void;
};

/** `wxfaceapp`: the WeChat face-pay device API (seed 001). */
export interface Wxfaceapp extends WxfaceappCalls, WxfaceappEventMethods {}

// ---------------------------------------------------------------------------------------------
// ft — seed 002
// ---------------------------------------------------------------------------------------------

/** Booth's failure object of every ft call: the `fail` callback's argument, or the Promise's rejection. */
export interface FtFail {
  /** `"<name>:fail <message>"`, e.g. `"finCardOcr:fail 本终端不支持: …"`. */
  errMsg: string;
  /** Booth's stable error code. */
  errorCode: BoothErrorCode;
}

/** success / fail / complete of an ft call. */
export interface FtCallbacks<R> {
  success?: (res: R) => void;
  fail?: (err: FtFail) => void;
  complete?: (res: R | FtFail) => void;
}

interface NoCallbacks {
  success?: undefined;
  fail?: undefined;
  complete?: undefined;
}

/**
 * An ft call: with `success`/`fail`/`complete` it answers through them and returns nothing;
 * without, it returns a Promise that resolves with the result or rejects with an {@link FtFail}.
 */
export type FtCall<P, R> = {} extends P
  ? {
      (options?: P & NoCallbacks): Promise<R>;
      (options: P & FtCallbacks<R>): void;
    }
  : {
      (options: P & NoCallbacks): Promise<R>;
      (options: P & FtCallbacks<R>): void;
    };

/** finCardOcr `type`: 银行卡识别, 身份证识别, 身份证照片质检, 企业营业执照识别. */
export type FinCardOcrType = 'BankCard' | 'IDCard' | 'IDCardCheck' | 'BusiCert';

/** finCardOcr `recogResult` for an ID card (身份证). */
export interface OcrIDCard {
  /** 0: 正面, 1: 反面 */
  face: 0 | 1;
  /** 民族 (仅正面有) */
  nation?: string;
  /** 性别 (仅正面有) */
  gender?: string;
  /** 生日 (仅正面有) */
  birthday?: string;
  /** 地址 (仅正面有) */
  address?: string;
  /** 姓名 (仅正面有) */
  name?: string;
  /** 身份证号码 (仅正面有) */
  idNo?: string;
  /** 有效期起始日期 (仅反面有) */
  startDate?: string;
  /** 有效期截止日期 (仅反面有) */
  endDate?: string;
  /** 签发机关 (仅反面有) */
  signOrg?: string;
}

/** finCardOcr `recogResult` for IDCardCheck (身份证质检). */
export interface OcrIDCardCheck {
  /** 图片风险: 0 无, 1 复印件, 2 拍屏, 3 假证件, 4 有水印, 5 遮挡, 6 切边, 7 卡变形, 8 有光斑. */
  risk: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
}

/** finCardOcr `recogResult` for a bank card (银行卡). */
export interface OcrBankCard {
  /** 卡号 */
  cardNo: string;
  /** 银行 */
  bankName: string;
  /** 银行标识id */
  bankId: string;
  /** 卡类型: 借记卡 / 准贷记卡 */
  cardType: string;
}

/** finCardOcr `recogResult` for a business licence (营业执照). */
export interface OcrBusinessLicence {
  /** 登记机关 */
  regOrg?: string;
  /** 经营范围 (spelled `busiScrope` by the document) */
  busiScrope?: string;
  /** 统一社会信用代码/营业执照号 */
  certNo?: string;
  /** 登记日期 */
  regDate?: string;
  /** 注册资本 */
  capital?: string;
  /** 住所 */
  address?: string;
  /** 营业期限 */
  expDate?: string;
  /** 法人代表 */
  represent?: string;
  /** 营业执照类型: 正本、副本 */
  certType?: string;
  /** 企业名称 */
  corpName?: string;
  /** 企业类型 */
  corpType?: string;
  /** 成立日期 */
  foundDate?: string;
}

/** finCardOcr result. */
export interface FinCardOcrResult {
  /** The requested type. */
  type: FinCardOcrType;
  /** 识别结果, 0 表示成功 (a number here; Booth's own failures come as {@link FtFail}). */
  errorCode: number;
  /** 识别结果描述 */
  description: string;
  /** 识别结果, e.g. `{"cardNo": 卡号, …}`. */
  recogResult: OcrIDCard | OcrIDCardCheck | OcrBankCard | OcrBusinessLicence;
}

/** A device of `ft.webrtc.mediaDevices.enumerateDevices()` (the document does not list its fields). */
export interface FtMediaDeviceInfo {
  deviceId?: string;
  groupId?: string;
  kind?: string;
  label?: string;
  [key: string]: unknown;
}

/** A track of a stream. */
export interface FtMediaStreamTrack {
  /** 关闭 track,可用于停止 stream 流. */
  stop(): void;
  [key: string]: unknown;
}

/** The stream of getUserMedia: 仅包含一个 streamId 和 getTracks 方法. */
export interface FtMediaStream {
  /** 传给 webrtc-video / webrtc-audio 组件 (`src="webrtc://{{streamId}}"`) 即可播放该流. */
  streamId: string;
  /** 获取 stream 的 tracks (一般包含 video track 和 audio track). */
  getTracks(): Promise<FtMediaStreamTrack[]>;
}

/** createOffer / createAnswer options. */
export interface FtOfferOptions {
  iceRestart?: boolean;
  offerToReceiveAudio?: boolean;
  offerToReceiveVideo?: boolean;
  voiceActivityDetection?: boolean;
}

/** An SDP offer or answer: 包含 sdp 和 type 两个字段. */
export interface FtSessionDescription {
  sdp: string;
  type: string;
}

/** createRTCPeerConnection options: 参数均透传 (WebRTC RTCConfiguration). */
export interface FtRTCConfiguration {
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>;
  [key: string]: unknown;
}

/** The events of an FtRTCPeerConnection and what their listeners receive. */
export interface FtRTCPeerConnectionEvents {
  /** 仅包含 candidate 字段数据 */
  icecandidate: { candidate: { address?: string; type?: string; sdpMLineIndex?: number; sdpMid?: string; [key: string]: unknown } };
  iceconnectionstatechange: { iceConnectionState: string; timeStamp: number };
  negotiationneeded: unknown;
  signalingstatechange: { signalingState: string };
  /** streams 的数组项对象是包含一个 streamId 的 object. */
  track: { streams: Array<{ streamId: string }> };
}

/** The connection of `ft.webrtc.createRTCPeerConnection`. */
export interface FtRTCPeerConnection {
  readonly canTrickleIceCandidates: boolean | null;
  /** Spelled `conectionState` in the document's list of properties. */
  readonly conectionState: string;
  readonly currentLocalDescription: FtSessionDescription | null;
  readonly currentRemoteDescription: FtSessionDescription | null;
  readonly iceConnectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: FtSessionDescription | null;
  readonly peerIdentity: unknown;
  readonly remoteDescription: FtSessionDescription | null;
  readonly signalingState: string;
  addEventListener<E extends keyof FtRTCPeerConnectionEvents>(
    type: E,
    listener: (event: FtRTCPeerConnectionEvents[E]) => void,
  ): void;
  /** 创建一个 SDP offer. */
  createOffer(options?: FtOfferOptions): Promise<FtSessionDescription>;
  /** 创建一个 SDP answer. */
  createAnswer(options?: FtOfferOptions): Promise<FtSessionDescription>;
  /** 设置 offer/answer. */
  setLocalDescription(description: FtSessionDescription): Promise<void>;
  /** 设置 offer/answer. */
  setRemoteDescription(description: FtSessionDescription): Promise<void>;
  /** 添加 candidate (icecandidate 事件获取到的 candidate 对象). */
  addIceCandidate(candidate: FtRTCPeerConnectionEvents['icecandidate']['candidate']): Promise<void>;
  /** connection 的 configuration. */
  getConfiguration(): Promise<FtRTCConfiguration>;
  /** 添加 track (异步接口). */
  addTrack(track: FtMediaStreamTrack): Promise<void>;
  /** 关闭 connection 连接. */
  close(): void;
}

/** getUserMedia constraints. */
export interface FtUserMediaConstraints {
  /** 是否获取视频流 */
  video?: boolean;
  /** 是否获取音频流 */
  audio?: boolean;
}

/** `ft.webrtc.mediaDevices`: Promise only (success/fail callbacks are not called). */
export interface FtMediaDevices {
  /** 获取 WebRTC 可用的音视频硬件信息. */
  enumerateDevices(): Promise<FtMediaDeviceInfo[]>;
  /** 获取当前设备所支持的约束属性 (如帧率,窗口大小). */
  getSupportedConstraints(): Promise<Record<string, unknown>>;
  /** 向用户申请媒体输入. */
  getUserMedia(constraints: FtUserMediaConstraints): Promise<FtMediaStream>;
  /** The document's own example calls getUserMedia by this name; Booth accepts it. */
  mediaDevices(constraints: FtUserMediaConstraints): Promise<FtMediaStream>;
}

/** `ft.webrtc`: Promise only. */
export interface FtWebrtc {
  mediaDevices: FtMediaDevices;
  /**
   * 创建 rtc connection 实例. The document's examples sometimes pass a second argument
   * (`mediaConstraints`); Booth ignores it.
   */
  createRTCPeerConnection(options?: FtRTCConfiguration, mediaConstraints?: unknown): Promise<FtRTCPeerConnection>;
}

/** `ft`: the FinClip financial-scenario API (seed 002). */
export interface Ft {
  /** OCR卡片识别. */
  finCardOcr: FtCall<
    {
      /** 识别类型 */
      type: FinCardOcrType;
      /** 照片文件所在路径 (小程序通过 chooseImage 提取). */
      imagePath: string;
    },
    FinCardOcrResult
  >;
  /** 人脸联网身份核验. */
  finFaceAuth: FtCall<
    {
      /** 身份证号码 */
      idNo: string;
      /** 姓名 */
      name: string;
      /** 照片文件所在路径 */
      imagePath: string;
    },
    {
      /** 识别结果, 0 表示成功. */
      errorCode: number;
      /** 识别结果描述 */
      description: string;
      /** 相似度 0-1 */
      score: number;
    }
  >;
  /** 活体检测. */
  finLivenessCheck: FtCall<
    EmptyData,
    {
      /** `"success"` 成功, `"back"` 用户点击返回取消活体检测. */
      resultType: 'success' | 'back';
      /** 活体检测返回图片, Base64 后的 byte 数组 (仅成功返回). */
      faceImgStr?: string;
    }
  >;
  /**
   * 打开三方app. On Booth: another app of the terminal's catalogue (`[apps]` of booth.toml)
   * replaces this one in the main window; anything else fails with `PERMISSION_DENIED`. The
   * document does not describe the result; Booth answers `{errMsg: "finOpenOtherApp:ok"}`.
   */
  finOpenOtherApp: FtCall<
    {
      /** App包名 (Android 用于判断 App 是否已安装). On Booth: the catalogue app's appId. */
      package?: string;
      /** App 的 scheme 加 url (跳转用). On Booth: `booth-app://<appId>/<page>`. */
      url?: string;
      /** 下载App地址 (never followed by Booth). */
      downloadUrl?: string;
      /** 下载提示框提示语,如不传则不弹提示框直接跳转页面 (Booth asks 确定 / 取消 first). */
      alertMsg?: string;
    },
    { errMsg: string }
  >;
  /** 双向视频认证. */
  finOpenWitnessVideo: FtCall<
    {
      /** 视频服务类型 */
      videoType: string;
      /** 视频服务ip */
      videoIp: string;
      /** 视频服务端口 */
      videoPort: string;
      /** 登录名 */
      loginName: string;
      /** 登录密码 (可选) */
      loginPwd?: string;
      /** 房间id */
      roomId: string;
      /** 房间名 */
      roomName: string;
      /** 房间密码 (可选) */
      roomPwd?: string;
      /** anychat集群appId */
      appId: string;
    },
    {
      /** 返回标志: `"0"` 成功, `"1"` 失败, `"2"` 驳回. */
      videoFlag: '0' | '1' | '2';
      /** 驳回理由 */
      rejectReason?: string;
      /** 详细信息 */
      message?: string;
    }
  >;
  /** WebRTC (Promise only). */
  webrtc: FtWebrtc;
}

type FunctionPaths<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends (...args: never[]) => unknown
    ? `${P}${K}`
    : T[K] extends object
      ? FunctionPaths<T[K], `${P}${K}.`>
      : never;
}[keyof T & string];

/** An ft call name as the contract spells it (`webrtc.` paths dotted). */
export type FtCallName = Exclude<FunctionPaths<Ft>, 'webrtc.mediaDevices.mediaDevices'>;

// The `wx` object of the WeChat client, as far as the mini-program uses it.
// Each call answers like the real one (a promise of the same fields); where
// the real client asks the user, the stand-in shows a sheet.
import {h, toast} from "/static/faces/dom.js";
import {facesConfig, mockLoginCode} from "/static/faces/api.js";

const OPENID = "mp.openid";
const LOCATION = "mp.location";
const SUBSCRIPTIONS = "mp.subscriptions";

/** A bottom sheet; resolves with what `build(close)` passes to close(). */
export function sheet(title, build) {
  return new Promise((resolve) => {
    let done = false;
    const backdrop = h("div", {class: "sheet-backdrop", "data-sheet": title});
    const close = (value) => {
      if (done) return;
      done = true;
      backdrop.dispatchEvent(new Event("closed"));
      backdrop.remove();
      resolve(value);
    };
    backdrop.append(h("div", {class: "sheet", role: "dialog", "aria-label": title}, h("h2", {}, title), build(close)));
    backdrop.addEventListener("click", (event) => { if (event.target === backdrop) close(null); });
    document.body.append(backdrop);
  });
}

/** Decode a QR from an image file with jsQR (loaded from npm by index.html). */
export async function decodeImageFile(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", {willReadFrequently: true});
  context.drawImage(bitmap, 0, 0);
  return decodeCanvas(canvas, context);
}

function decodeCanvas(canvas, context) {
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = window.jsQR(pixels.data, pixels.width, pixels.height, {inversionAttempts: "attemptBoth"});
  return found ? found.data : null;
}

function cameraScanner(onText) {
  const video = h("video", {autoplay: true, muted: true, playsinline: true});
  const note = h("p", {class: "muted"}, "对准二维码……");
  let stream = null;
  let timer = null;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", {willReadFrequently: true});
  const start = async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
    } catch {
      note.textContent = "无法使用摄像头，请从相册选择或粘贴链接。";
      return;
    }
    video.srcObject = stream;
    timer = setInterval(() => {
      if (!video.videoWidth) return;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const text = decodeCanvas(canvas, context);
      if (text) onText(text);
    }, 300);
  };
  const stop = () => {
    clearInterval(timer);
    stream?.getTracks().forEach((track) => track.stop());
  };
  return {element: h("div", {}, video, note), start, stop};
}

/** wx.scanCode's answer for a decoded text. A mini-program code (the mock
 * WeChat's stands in as a QR of "wxacode:<page>?scene=<scene>") answers like
 * WeChat's client: scanType WX_CODE and the code's `path` (scene URL-encoded). */
export function scanAnswer(text) {
  const wxacode = text.match(/^wxacode:([^?]+)\?scene=(.*)$/);
  if (wxacode) {
    return {result: "", scanType: "WX_CODE", charSet: "utf-8", errMsg: "scanCode:ok",
            path: `${wxacode[1]}?scene=${encodeURIComponent(wxacode[2])}`};
  }
  return {result: text, scanType: "QR_CODE", charSet: "utf-8", errMsg: "scanCode:ok"};
}

export const wx = {
  /** The openid this phone logs in as (the stand-in's start screen picks it). */
  get openid() { return localStorage.getItem(OPENID); },
  set openid(value) { value ? localStorage.setItem(OPENID, value) : localStorage.removeItem(OPENID); },

  /** wx.login(): a code for jscode2session, from the mock WeChat server. */
  async login() {
    if (!this.openid) throw new Error("未选择微信账号");
    return {code: await mockLoginCode(this.openid), errMsg: "login:ok"};
  },

  /** wx.getLocation({type: "gcj02"}): the manual position if one is set, else the browser's. */
  async getLocation() {
    const manual = JSON.parse(localStorage.getItem(LOCATION) || "null");
    if (manual) return {...manual, accuracy: 10, errMsg: "getLocation:ok"};
    if (!navigator.geolocation) throw new Error("无法获取位置");
    const position = await new Promise((resolve, reject) =>
      navigator.geolocation.getCurrentPosition(resolve, () => reject(new Error("无法获取位置，请在“我的”里手动设置")),
                                               {enableHighAccuracy: true, timeout: 8000}));
    return {latitude: position.coords.latitude, longitude: position.coords.longitude,
            accuracy: position.coords.accuracy, errMsg: "getLocation:ok"};
  },
  /** The manual override of wx.getLocation (null: use the browser's). */
  setManualLocation(location) {
    location ? localStorage.setItem(LOCATION, JSON.stringify(location)) : localStorage.removeItem(LOCATION);
  },
  get manualLocation() { return JSON.parse(localStorage.getItem(LOCATION) || "null"); },

  /** wx.scanCode(): {result} (or a mini-program code's {path}) from the camera, an image
   * from the album, or a pasted link; null if cancelled. */
  scanCode() {
    return sheet("扫一扫", (close) => {
      const scanner = cameraScanner((text) => { scanner.stop(); close(scanAnswer(text)); });
      const file = h("input", {type: "file", accept: "image/*", "data-scan-file": true, onchange: async () => {
        const text = file.files[0] && await decodeImageFile(file.files[0]);
        if (text) { scanner.stop(); close(scanAnswer(text)); }
        else toast("图片中没有识别到二维码", {kind: "error"});
      }});
      const pasted = h("input", {type: "url", placeholder: "或粘贴二维码里的链接", "data-scan-text": true});
      const body = h("div", {},
        h("button", {class: "full", onclick: (event) => { event.target.remove(); scanner.start(); }}, "打开摄像头"),
        scanner.element,
        h("label", {}, "从相册选择"), file,
        h("label", {}, "粘贴链接"),
        h("div", {class: "row"}, pasted, h("button", {class: "primary", onclick: () => {
          if (pasted.value.trim()) { scanner.stop(); close(scanAnswer(pasted.value.trim())); }
        }}, "识别")),
        h("p", {}, h("button", {class: "full", onclick: () => { scanner.stop(); close(null); }}, "取消")));
      return body;
    });
  },

  /** <button open-type="getPhoneNumber">: the user allows sharing the number; a code for the server. */
  getPhoneNumber() {
    return sheet("授权手机号", (close) => {
      const phone = h("input", {type: "tel", name: "phone", placeholder: "微信绑定的手机号", inputmode: "numeric"});
      return h("div", {},
        h("p", {class: "muted"}, "模拟：微信会把您绑定的手机号交给小程序。"), phone,
        h("div", {class: "row", style: "margin-top:12px"},
          h("button", {onclick: () => close(null)}, "拒绝"),
          h("button", {class: "primary", onclick: async () => {
            const {wechat_base: base} = await facesConfig();
            const res = await fetch(base + "/mock/wx/phone", {method: "POST", headers: {"Content-Type": "application/json"},
              body: JSON.stringify({phone_number: phone.value.trim()})});
            if (!res.ok) { toast("手机号格式不对", {kind: "error"}); return; }
            close({code: (await res.json()).code, errMsg: "getPhoneNumber:ok"});
          }}, "允许")));
    });
  },

  /** wx.requestSubscribeMessage({tmplIds}): {[tmplId]: "accept"|"reject"}, recorded on the phone. */
  requestSubscribeMessage({tmplIds, names = {}}) {
    return sheet("接收消息通知", (close) => {
      const boxes = tmplIds.map((id) => h("input", {type: "checkbox", checked: true, value: id}));
      return h("div", {},
        ...tmplIds.map((id, i) => h("label", {class: "row"}, boxes[i], names[id] || id)),
        h("div", {class: "row", style: "margin-top:12px"},
          h("button", {onclick: () => close(record(Object.fromEntries(tmplIds.map((id) => [id, "reject"]))))}, "取消"),
          h("button", {class: "primary", onclick: () =>
            close(record(Object.fromEntries(boxes.map((box) => [box.value, box.checked ? "accept" : "reject"]))))}, "允许")));
    });
  },
  get subscriptions() { return JSON.parse(localStorage.getItem(SUBSCRIPTIONS) || "[]"); },

  showToast({title, icon = "none"}) { toast(title, {kind: icon === "error" ? "error" : "info"}); },
};

function record(choices) {
  const log = wx.subscriptions;
  log.push({at: new Date().toISOString(), choices});
  localStorage.setItem(SUBSCRIPTIONS, JSON.stringify(log.slice(-50)));
  return {...choices, errMsg: "requestSubscribeMessage:ok"};
}

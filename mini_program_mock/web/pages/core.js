// The start screen (pick a WeChat account), home, scan, mine.
import {facesConfig} from "/static/faces/api.js";
import {h, mount} from "/static/faces/dom.js";
import {resolveScene, routeFor, scanned} from "../scan.js";
import {menu} from "./index.js";

const ROLE_NAMES = {
  district_admin: "区委管理员", org_admin: "组织管理员", center_admin: "阵地管理员",
  grid_leader: "网格长", building_leader: "楼栋长", lane_leader: "街巷长",
};

const start = {
  title: "微信登录",
  async render(view, {api, wx, go}) {
    const config = await facesConfig();
    const login = async (openid) => {
      wx.openid = openid;
      const {code} = await wx.login();
      await api.login(code);
      // Back to the page that was opened (a mini-program code's ?scene=...), as
      // WeChat logs in silently and stays on the page it opened.
      go(location.hash && !location.hash.startsWith("#/start") ? location.hash : "#/");
    };
    const custom = h("input", {name: "openid", placeholder: "其他 openid，如 resident-42"});
    mount(view,
      h("div", {class: "card"},
        h("h2", {}, "党建红"),
        h("p", {class: "muted"}, "模拟微信客户端：选择一个微信账号登录。真实小程序中，这一步由 wx.login() 静默完成。")),
      config.demo ? h("div", {},
        h("p", {class: "section-title"}, "演示账号"),
        ...config.demo_accounts.map((account) => h("button", {
          class: "list-item full", "data-openid": account.openid, onclick: () => login(account.openid),
        }, h("div", {class: "spread"}, h("strong", {}, account.openid),
              h("span", {class: "tag red"}, ROLE_NAMES[account.role] || "群众 / 党员")),
           account.org ? h("div", {class: "muted"}, account.org) : null))) : null,
      h("p", {class: "section-title"}, "其他账号"),
      h("form", {class: "row", onsubmit: (event) => { event.preventDefault(); if (custom.value.trim()) login(custom.value.trim()); }},
        custom, h("button", {class: "primary"}, "登录")));
  },
};

/** WeChat opened the entry page with a mini-program code's scene: on to the
 * page the same code's URL would open (the history entry is replaced, so
 * "back" does not resolve it again). */
async function openScene(view, {api}, scene) {
  mount(view, h("p", {class: "empty"}, "正在识别小程序码……"));
  try {
    const target = routeFor(await resolveScene(api, scene));
    if (target) { location.replace(target); return; }
    mount(view, h("div", {class: "result bad", role: "alert"}, "无法识别的小程序码"));
  } catch (error) {
    mount(view, h("div", {class: "result bad", role: "alert", "data-scene-error": error.code || true},
      error.message || "无法识别的小程序码"),
      h("a", {class: "button full", href: "#/scan", style: "text-align:center"}, "重新扫码"));
  }
}

const home = {
  title: "党建红",
  async render(view, ctx) {
    const scene = ctx.params.get("scene");
    if (scene) return openScene(view, ctx, scene);
    const me = await ctx.me({refresh: true});
    const sections = new Map();
    for (const entry of menu.filter((item) => !item.show || item.show(me))) {
      if (!sections.has(entry.section)) sections.set(entry.section, []);
      sections.get(entry.section).push(entry);
    }
    const identity = me.identity;
    mount(view,
      h("div", {class: "card spread"},
        h("div", {},
          h("strong", {}, identity ? identity.name : "您好"),
          h("div", {class: "muted"}, identity ? `${identity.branch?.name || ""} · ${statusText(identity.status)}` : "尚未绑定党员身份")),
        h("a", {class: "button primary", href: "#/scan"}, "扫一扫")),
      ...[...sections].map(([section, entries]) => [
        h("p", {class: "section-title"}, section),
        h("div", {class: "grid-menu"}, ...entries.map((entry) =>
          h("a", {href: entry.href, "data-menu": entry.href}, h("span", {class: "icon"}, entry.icon || "●"), entry.label)))]));
  },
};

function statusText(status) {
  return {active: "已认证", suspended: "已暂停", revoked: "已撤销", closed: "已注销"}[status] || status || "";
}

const scan = {
  title: "扫一扫",
  async render(view, {api, wx, go}) {
    const open = async () => {
      const answer = await wx.scanCode();
      if (!answer) return;
      let target;
      try {
        target = routeFor(await scanned(api, answer));
      } catch (error) {  // a mini-program code the API refused (forged, replaced, expired)
        mount(result, h("div", {class: "result bad", role: "alert"}, error.message));
        return;
      }
      if (target) go(target);
      else mount(result, h("div", {class: "result bad", role: "alert"}, "无法识别的二维码：不是本小程序的码"));
    };
    const result = h("div", {});
    mount(view,
      h("div", {class: "card"}, h("p", {}, "扫描阵地签到码、党员身份码、服务岗牌或商户亮牌，也可扫描志愿任务的现场签到码。"),
        h("button", {class: "primary full", onclick: open, "data-scan": true}, "扫码")),
      result);
    if (!view.dataset.opened) open();
  },
};

const mine = {
  title: "我的",
  async render(view, {api, wx, me, go}) {
    const profile = await me({refresh: true});
    const manual = wx.manualLocation;
    const lat = h("input", {name: "latitude", type: "number", step: "any", value: manual?.latitude ?? "", placeholder: "纬度"});
    const lng = h("input", {name: "longitude", type: "number", step: "any", value: manual?.longitude ?? "", placeholder: "经度"});
    mount(view,
      h("div", {class: "card"},
        h("div", {class: "spread"}, h("strong", {}, `微信账号 ${wx.openid || ""}`), h("span", {class: "muted"}, `用户 #${profile.user.id}`)),
        profile.roles.length ? h("div", {class: "row", style: "margin-top:8px"},
          ...profile.roles.map((grant) => h("span", {class: "tag red"}, `${ROLE_NAMES[grant.role] || grant.role} · ${grant.org?.name || ""}`))) : null),
      h("div", {class: "card"},
        h("strong", {}, "定位"),
        h("p", {class: "muted"}, manual ? `手动位置：${manual.latitude}, ${manual.longitude}` : "使用手机定位"),
        h("form", {"data-location": true, onsubmit: (event) => {
          event.preventDefault();
          wx.setManualLocation(lat.value && lng.value ? {latitude: Number(lat.value), longitude: Number(lng.value)} : null);
          go("#/mine");
        }}, h("div", {class: "row"}, lat, lng), h("div", {class: "row", style: "margin-top:8px"},
          h("button", {class: "primary"}, "使用手动位置"),
          h("button", {type: "button", onclick: () => { wx.setManualLocation(null); go("#/mine"); }}, "使用手机定位")))),
      h("button", {class: "full danger", onclick: async () => { await api.logout(); wx.openid = null; go("#/start"); }}, "退出登录"),
      h("a", {class: "button full", href: "#/mine/close", style: "margin-top:8px", "data-close-account": true}, "注销账号"));
  },
};

// 注销账号: the API's first step says what goes and what stays; the second
// (DELETE /me with its confirmation) happens only after the person ticks
// that they understand and presses the red button.
const closeAccount = {
  title: "注销账号",
  async render(view, {api, wx, go}) {
    const step = await api.post("/me/cancellation");
    const understood = h("input", {type: "checkbox", name: "understood"});
    const confirm = h("button", {class: "full danger", disabled: true, onclick: async () => {
      confirm.disabled = true;
      try {
        await api.del("/me", {confirmation: step.confirmation});
      } catch (error) {
        mount(result, h("div", {class: "result bad", role: "alert"}, error.message || "注销失败，请重试"));
        confirm.disabled = false;
        return;
      }
      api.forget();
      wx.openid = null;
      mount(view, h("div", {class: "card result ok", role: "status"},
        h("strong", {}, "账号已注销"),
        h("p", {}, "您的个人信息已删除。以后用微信再次登录，将是一个新的空账号。")),
        h("button", {class: "primary full", onclick: () => go("#/start")}, "返回"));
    }}, "确认注销");
    understood.addEventListener("change", () => { confirm.disabled = !understood.checked; });
    const result = h("div", {});
    const list = (items) => h("ul", {}, ...items.map((item) => h("li", {}, item)));
    mount(view,
      h("div", {class: "card"},
        h("strong", {}, "注销后将删除"), list(step.removed)),
      h("div", {class: "card"},
        h("strong", {}, "注销后仍保留（不再关联您的身份）"), list(step.kept)),
      h("label", {class: "row", style: "margin:12px 0"}, understood, "我已了解，注销后无法恢复"),
      result, confirm,
      h("button", {class: "full", style: "margin-top:8px", onclick: () => go("#/mine")}, "取消"));
  },
};

const notFound = {title: "页面不存在", render: (view) => mount(view, h("p", {class: "empty"}, "页面不存在"))};

export const routes = {"/start": start, "/": home, "/scan": scan, "/mine": mine, "/mine/close": closeAccount,
  "/404": notFound};

// A scanned console login QR (<QR_BASE_URL>/l/<ticket>): the admin confirms
// that the console page showing it may log in as them.
import {h, mount} from "/static/faces/dom.js";
import {classify} from "../scan.js";

const ROLE_NAMES = {district_admin: "区委管理员", org_admin: "组织管理员", center_admin: "阵地管理员"};

export const page = {
  title: "登录确认",
  async render(view, {api, me, go, params}) {
    const scanned = classify(params.get("code") || "");
    if (scanned.kind !== "console_login") {
      mount(view, h("div", {class: "result bad", role: "alert"}, "这不是管理后台的登录二维码。"));
      return;
    }
    const profile = await me({refresh: true});
    const grants = profile.roles.filter((grant) => ROLE_NAMES[grant.role]);
    const result = h("div", {});
    const buttons = h("div", {class: "row"});
    const decide = async (confirm) => {
      if (!confirm) {
        mount(view, h("div", {class: "result warn"}, "已取消，管理后台不会登录。"),
          h("button", {class: "full", onclick: () => go("#/")}, "返回首页"));
        return;
      }
      for (const button of buttons.querySelectorAll("button")) button.disabled = true;
      try {
        await api.post(`/auth/console-tickets/${encodeURIComponent(scanned.token)}/confirm`);
        mount(view, h("div", {class: "result ok", role: "status"}, "已确认，管理后台正在登录。"),
          h("button", {class: "full", onclick: () => go("#/")}, "返回首页"));
      } catch (error) {
        mount(result, h("div", {class: "result bad", role: "alert"}, error.message));
        for (const button of buttons.querySelectorAll("button")) button.disabled = false;
      }
    };
    mount(buttons,
      h("button", {class: "primary", "data-confirm": "", disabled: !grants.length, onclick: () => decide(true)}, "确认"),
      h("button", {"data-cancel": "", onclick: () => decide(false)}, "取消"));
    mount(view,
      h("div", {class: "card"},
        h("h2", {}, "确认登录管理后台？"),
        h("p", {class: "muted"}, "电脑上的党建红管理后台将以您的身份登录。请确认是您本人刚刚扫描的二维码。"),
        grants.length
          ? h("ul", {class: "roles"}, ...grants.map((grant) =>
            h("li", {}, h("span", {class: "tag red"}, ROLE_NAMES[grant.role]), " ", grant.org.name)))
          : h("div", {class: "result bad", role: "alert"}, "您的账号没有管理后台的权限（需要区委、组织或阵地管理员角色）。")),
      result, buttons);
  },
};

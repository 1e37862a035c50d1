// Login (the demo's admins directly; the QR login with the mini-program), home.
import {facesConfig, mockLoginCode} from "/static/faces/api.js";
import {h, mount} from "/static/faces/dom.js";
import {api, ROLE_NAMES} from "../session.js";
import {nav} from "./index.js";

const login = {
  title: "登录",
  async render(view, {loggedIn}) {
    const config = await facesConfig();
    const admins = (config.demo_accounts || []).filter((account) => ["district_admin", "org_admin", "center_admin"].includes(account.role));
    mount(view, h("div", {class: "login"},
      h("div", {class: "card", id: "qr-login"}, h("h2", {}, "扫码登录"),
        h("p", {class: "muted"}, "用党建红小程序扫描二维码并确认。")),
      admins.length ? h("div", {class: "card"}, h("h2", {}, "演示管理员"),
        h("p", {class: "muted"}, "演示环境可直接以这些账号登录。"),
        ...admins.map((account) => h("button", {class: "full", style: "margin:6px 0", "data-openid": account.openid,
          onclick: async () => { await api.login(await mockLoginCode(account.openid)); loggedIn(); }},
          `${account.org} · ${ROLE_NAMES[account.role]}`))) : null));
  },
};

const home = {
  title: "首页",
  async render(view, {scope, go}) {
    const first = nav.find((entry) => !entry.roles || entry.roles.includes(scope.role));
    if (first) go(first.href);
    else mount(view, h("h2", {}, scope.org.name));
  },
};

const notFound = {title: "页面不存在", render: (view) => mount(view, h("p", {class: "empty"}, "页面不存在"))};

export const routes = {"/login": login, "/": home, "/404": notFound};

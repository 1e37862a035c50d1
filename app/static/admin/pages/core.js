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
      qrLogin(loggedIn),
      admins.length ? h("div", {class: "card"}, h("h2", {}, "演示管理员"),
        h("p", {class: "muted"}, "演示环境可直接以这些账号登录。"),
        ...admins.map((account) => h("button", {class: "full", style: "margin:6px 0", "data-openid": account.openid,
          onclick: async () => { await api.login(await mockLoginCode(account.openid)); loggedIn(); }},
          `${account.org} · ${ROLE_NAMES[account.role]}`))) : null));
  },
};

const POLL_MS = 1500;

/** The QR login card: a ticket's QR, polled until an admin's phone confirms
 * it (then the page logs in as that admin), renewed when it expires. */
function qrLogin(loggedIn) {
  const picture = h("div", {class: "qr", "data-qr": ""}, h("p", {class: "empty"}, "二维码加载中……"));
  const status = h("p", {class: "muted", "data-qr-status": ""}, "用党建红小程序扫描二维码并确认。");
  const card = h("div", {class: "card", id: "qr-login"}, h("h2", {}, "扫码登录"), picture, status,
    h("button", {type: "button", onclick: () => renew()}, "刷新二维码"));
  let ticket = null;
  let timer = null;

  function schedule(ms = POLL_MS) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function renew() {
    clearTimeout(timer);
    if (!card.isConnected) return;
    ticket = null;
    try {
      ticket = await api.post("/auth/console-tickets");
    } catch (error) {
      mount(picture, h("div", {class: "result bad", role: "alert"}, error.message));
      if (card.isConnected) timer = setTimeout(renew, error.status === 429 ? 15000 : 5000);
      return;
    }
    const src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(ticket.qr_svg);
    mount(picture, h("img", {src, alt: "登录二维码", "data-ticket": ticket.ticket}));
    mount(status, "用党建红小程序扫描二维码并确认。");
    schedule();
  }

  async function poll() {
    if (!card.isConnected) return;  // the page moved on
    if (!ticket) return renew();
    // An expired ticket answers 410 and is renewed below: the server's clock decides.
    try {
      const answer = await api.post(`/auth/console-tickets/${encodeURIComponent(ticket.ticket)}/redeem`,
        {poll_secret: ticket.poll_secret}, {retry: false});
      if (answer.state === "redeemed") {
        api.useSession(answer);
        mount(status, "已确认，正在登录……");
        loggedIn();
        return;
      }
      schedule();
    } catch (error) {
      if (["console_ticket_expired", "console_ticket_used", "console_ticket_not_found"].includes(error.code)) {
        mount(status, "二维码已过期，已为您刷新。");
        return renew();
      }
      mount(status, h("span", {class: "tag bad"}, error.message));
      schedule(error.status === 429 ? 10000 : 3000);
    }
  }

  // Start once the card is on the page (mount is synchronous after render returns).
  setTimeout(renew, 0);
  return card;
}

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

// "党员亮身份": the short-lived badge QR, renewed a few seconds before it
// expires, and when it was verified.
import {fmtTime, h, mount} from "/static/faces/dom.js";
import {badgeClaims, refusal} from "./common.js";

export const REFRESH_BEFORE_MS = 5000; // a scan in the last seconds still reaches the server in time
const MIN_DELAY_MS = 10_000; // a phone clock far ahead must not make it fetch in a loop
const MEMBER_STATUS = {full: "正式党员", probationary: "预备党员"};

export const badge = {
  title: "党员亮身份",
  async render(view, {api}) {
    const img = h("img", {alt: "党员身份二维码", "data-badge-qr": true});
    const name = h("div", {style: "font-size:20px;font-weight:600;margin-top:10px", "data-badge-name": true});
    const branch = h("div", {});
    const since = h("div", {class: "badge-since"});
    const countdown = h("div", {"data-countdown": true, style: "margin-top:8px"});
    const problem = h("div", {});
    const card = h("div", {class: "badge-card"}, h("div", {style: "letter-spacing:2px;margin-bottom:10px"}, "中共党员"),
      img, name, branch, since, countdown);
    const shown = h("div", {"data-shown": true});
    let expiresAt = 0;
    let timer = null;
    let ticker = null;
    let current = null;

    const stop = () => { clearTimeout(timer); clearInterval(ticker); if (current) URL.revokeObjectURL(current); };
    const tick = () => {
      if (!img.isConnected) { stop(); return; }
      const left = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
      countdown.textContent = left > 0 ? `${left} 秒后自动更新 · 截图无效` : "正在更新……";
    };
    const load = async () => {
      clearTimeout(timer);
      try {
        const answer = await api.get("/me/badge");
        const url = await api.blobUrl("/me/badge.png");
        if (!img.isConnected && current) { URL.revokeObjectURL(url); return; }
        if (current) URL.revokeObjectURL(current);
        current = url;
        img.src = url;
        img.dataset.expiresAt = answer.expires_at;
        expiresAt = Date.parse(answer.expires_at);
        const claims = badgeClaims(answer.qr_text) || {};
        name.textContent = claims.n || "";
        branch.textContent = claims.b || "";
        since.textContent = [MEMBER_STATUS[claims.m] || "", claims.d ? `${claims.d.slice(0, 4)} 年入党` : ""].filter(Boolean).join(" · ");
        mount(problem);
        card.hidden = false;
        timer = setTimeout(load, Math.max(expiresAt - Date.now() - REFRESH_BEFORE_MS, MIN_DELAY_MS));
        tick();
      } catch (error) {
        card.hidden = true;
        mount(problem, refusal(error), error.code === "not_a_member"
          ? h("a", {class: "button full", href: "#/member/bind", style: "text-align:center"}, "去绑定党员身份") : null);
        stop();
      }
    };
    mount(view, card, problem,
      h("p", {class: "muted", style: "text-align:center"}, "请对方用微信“扫一扫”查验；二维码只在有效期内可用，不含手机号和证件号。"),
      h("p", {class: "section-title"}, "最近的查验"), shown);
    await load();
    if (!card.hidden) ticker = setInterval(tick, 1000);
    try {
      const page = await api.get("/me/badge/shown", {limit: 10});
      mount(shown, page.items.length
        ? page.items.map((row) => h("div", {class: "list-item", "data-shown-row": row.id},
          h("div", {class: "spread"}, h("span", {}, `查验人 #${row.verifier_id}`), h("span", {class: "muted"}, fmtTime(row.shown_at)))))
        : h("p", {class: "empty"}, "还没有人查验过您的身份"));
    } catch (error) {
      mount(shown, error.code === "not_a_member" || error.code === "identity_inactive" ? null : refusal(error));
    }
  },
};

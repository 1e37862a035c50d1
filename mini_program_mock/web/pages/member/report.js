// 双报到: a member reports to the community where they live; its admins
// confirm or decline.
import {fmtTime, h, mount} from "/static/faces/dom.js";
import {communityChoices, communityPicker, refusal} from "./common.js";

const STATES = {
  pending: ["待社区确认", "warn"], confirmed: ["已确认", "ok"], declined: ["未通过", "bad"],
  withdrawn: ["已撤回", ""], ended: ["已结束", ""], sent: ["已提交", "warn"],
};
// The API answers the confirmed report, else the pending one: a declined one
// is no longer answered. The phone remembers the report it sent, so that a
// pending report that is neither answered any more nor replaced by another
// of this user (withdrawn, ended) reads as declined.
const SENT = (userId) => `mp.community-report.${userId}`;

async function current(api) {
  try {
    return await api.get("/me/community-report");
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

function reportCard(report) {
  const [label, kind] = STATES[report.state] || [report.state, ""];
  return h("div", {class: "card", "data-report": report.state},
    h("div", {class: "spread"}, h("strong", {}, report.community?.name || "社区"), h("span", {class: `tag ${kind}`}, label)),
    h("div", {class: "muted"}, `申请时间 ${fmtTime(report.created_at)}`),
    report.decided_at ? h("div", {class: "muted"}, `处理时间 ${fmtTime(report.decided_at)}`) : null,
    report.state === "pending" ? h("p", {}, "社区党组织确认后，您将作为居住地党员参与社区服务。") : null,
    report.state === "confirmed" ? h("p", {}, "您已向居住地社区报到，可参与该社区的志愿服务和网格工作。") : null,
    report.state === "sent" ? h("p", {}, "社区确认后，您的居住地社区将改为该社区；未确认前仍为当前社区。") : null,
    report.state === "declined" ? h("p", {}, report.decline_reason ? `原因：${report.decline_reason}` : "社区未确认您的报到，可重新选择社区报到。") : null);
}

export const report = {
  title: "到社区报到",
  async render(view, ctx) {
    const {api, me} = ctx;
    const profile = await me({refresh: true});
    const key = SENT(profile.user.id);
    const sent = JSON.parse(localStorage.getItem(key) || "null");
    const answer = await current(api);
    // A pending report this phone sent that is no longer answered, with no
    // confirmed one instead, was declined (withdrawing or ending one takes a
    // newer report, which would be answered). Behind a confirmed report a
    // newer one is not answered at all: it is shown as sent, state unknown.
    const declined = sent && !answer ? {...sent, state: "declined", decided_at: null} : null;
    const waiting = sent && answer && answer.state === "confirmed" && sent.id > answer.id
      ? {...sent, state: "sent", decided_at: null} : null;
    if (sent && answer && (answer.id > sent.id || (answer.id === sent.id && answer.state === "confirmed"))) {
      localStorage.removeItem(key);  // decided, or replaced by a report sent from another phone
    }
    const out = h("div", {"data-outcome": true});
    const choices = await communityChoices(ctx, [answer?.community, sent?.community]);
    const picker = communityPicker(choices.filter((org) => org.id !== answer?.community?.id || answer?.state !== "confirmed"));
    const submit = h("button", {class: "primary full", type: "submit", "data-report-submit": true},
      answer?.state === "confirmed" ? "报到到新的居住社区" : "提交报到");
    const form = h("form", {class: "card", onsubmit: async (event) => {
      event.preventDefault();
      const communityId = picker.value();
      if (!communityId) { mount(out, h("div", {class: "result bad", role: "alert"}, "请选择居住地社区")); return; }
      submit.disabled = true;
      try {
        const created = await api.post("/me/community-report", {community_id: communityId});
        localStorage.setItem(key, JSON.stringify({id: created.id, community: created.community, created_at: created.created_at}));
        ctx.toast("已提交报到，等待社区确认");
        ctx.go(`#/member/report?t=${Date.now()}`);
      } catch (error) {
        mount(out, refusal(error));
      } finally {
        submit.disabled = false;
      }
    }},
      h("strong", {}, answer ? "更换居住地社区" : "向居住地社区报到"),
      h("p", {class: "muted"}, "党员到居住地社区报到（党员报到），在本支部之外参与社区服务。每人同一时间只在一个社区报到。"),
      h("label", {}, "居住地社区"), picker.element,
      answer?.state === "pending" ? h("p", {class: "muted"}, "重新提交将撤回尚未确认的报到。") : null,
      h("div", {style: "margin-top:12px"}, submit));
    mount(view,
      declined ? reportCard(declined) : null,
      waiting ? reportCard(waiting) : null,
      answer ? reportCard(answer) : (declined ? null : h("p", {class: "empty"}, "您还没有向居住地社区报到")),
      form, out);
  },
};

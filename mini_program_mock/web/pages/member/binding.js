// Binding to the roster: name + the phone WeChat vouches for (getPhoneNumber);
// a clean match issues the identity at once, anything else waits for the
// branch admin, who approves or refuses with a reason.
import {fmtDate, fmtTime, h, mount} from "/static/faces/dom.js";
import {branchPicker, refusal} from "./common.js";
import {subscribePrompt} from "../subscribe.js";

const STATUS = {active: ["已认证", "ok"], suspended: ["已暂停", "warn"], revoked: ["已撤销", "bad"]};
const MEMBER_STATUS = {full: "正式党员", probationary: "预备党员"};
const MISMATCH = {
  name_mismatch: "姓名与党员名单不一致",
  not_in_roster: "党员名单中没有该手机号",
  already_bound: "该名单记录已被其他微信账号绑定",
  previously_revoked: "您的党员身份曾被撤销，需重新审核",
};
const REQUEST = {pending: ["待审核", "warn"], approved: ["已通过", "ok"], rejected: ["未通过", "bad"], withdrawn: ["已撤回", ""]};

export function identityCard(identity) {
  const [label, kind] = STATUS[identity.status] || [identity.status, ""];
  return h("div", {class: "card", "data-identity": identity.status},
    h("div", {class: "spread"}, h("strong", {}, identity.name), h("span", {class: `tag ${kind}`}, label)),
    h("div", {class: "muted"}, identity.branch?.name || ""),
    h("table", {},
      h("tr", {}, h("th", {}, "身份编号"), h("td", {}, identity.identity_no)),
      h("tr", {}, h("th", {}, "党员类别"), h("td", {}, MEMBER_STATUS[identity.member_status] || identity.member_status || "")),
      h("tr", {}, h("th", {}, "入党时间"), h("td", {}, fmtDate(identity.member_since))),
      h("tr", {}, h("th", {}, "手机号"), h("td", {}, identity.phone || "")),
      h("tr", {}, h("th", {}, "认证时间"), h("td", {}, fmtTime(identity.issued_at)))));
}

function requestCard(request) {
  const [label, kind] = REQUEST[request.state] || [request.state, ""];
  return h("div", {class: "card", "data-request": request.state},
    h("div", {class: "spread"}, h("strong", {}, "绑定申请"), h("span", {class: `tag ${kind}`}, label)),
    h("p", {}, `${request.name} · ${request.phone || ""}`),
    h("p", {class: "muted"}, `提交给：${request.org?.name || ""} · ${fmtTime(request.created_at)}`),
    request.mismatch ? h("p", {class: "muted"}, `需要审核的原因：${MISMATCH[request.mismatch] || request.mismatch}`) : null,
    request.state === "pending" ? h("p", {}, "支部管理员审核后，您会在这里看到结果。") : null,
    request.state === "rejected" ? h("div", {class: "result bad", role: "alert"},
      `申请未通过：${request.reject_reason || "未说明原因"}`) : null);
}

async function latestRequest(api) {
  try {
    return await api.get("/me/member-binding");
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

async function currentIdentity(api) {
  try {
    return await api.get("/me/identity");
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export const bind = {
  title: "党员身份",
  async render(view, ctx) {
    const {api, wx, me} = ctx;
    const [identity, request] = await Promise.all([currentIdentity(api), latestRequest(api)]);
    if (identity && identity.status !== "revoked") {
      mount(view, identityCard(identity),
        identity.status === "active"
          ? h("a", {class: "button primary full", href: "#/member/badge", style: "text-align:center"}, "亮出党员身份码")
          : h("div", {class: "result warn"}, "身份暂停期间不能签到、亮身份或报到，请联系所在党支部。"));
      return;
    }
    const out = h("div", {"data-outcome": true});
    const name = h("input", {name: "name", placeholder: "与党员名单一致的姓名", maxlength: "50", autocomplete: "name"});
    const branch = await branchPicker(api);
    const branchRow = h("div", {hidden: true}, h("label", {}, "所在党支部"), branch);
    const submit = h("button", {class: "primary full", type: "submit", "data-bind": true}, "授权手机号并绑定");
    const form = h("form", {class: "card", "data-binding-form": true, onsubmit: async (event) => {
      event.preventDefault();
      if (!name.value.trim()) { mount(out, h("div", {class: "result bad", role: "alert"}, "请填写姓名")); return; }
      submit.disabled = true;
      try {
        const phone = await wx.getPhoneNumber();
        if (!phone) { mount(out, h("div", {class: "result warn"}, "您拒绝了授权手机号，无法核对党员名单。")); return; }
        const body = {name: name.value.trim(), phone_code: phone.code};
        if (!branchRow.hidden && branch.value) body.branch_id = Number(branch.value);
        const answer = await api.post("/me/member-binding", body);
        await me({refresh: true});
        if (answer.state === "active") {
          mount(view, h("div", {class: "result ok", "data-bound": true}, "绑定成功，您已是认证党员"),
            identityCard(answer.identity),
            h("a", {class: "button primary full", href: "#/", style: "text-align:center"}, "返回首页"));
        } else {
          mount(view, h("div", {class: "result warn", "data-pending": true}, "已提交，等待党支部管理员审核"),
            requestCard(answer.request),
            subscribePrompt(ctx, ["identity_approved", "identity_revoked"], "审核通过时，用微信通知您？"));
        }
      } catch (error) {
        if (error.code === "branch_required") branchRow.hidden = false;
        mount(out, refusal(error));
      } finally {
        submit.disabled = false;
      }
    }},
      h("strong", {}, "绑定党员身份"),
      h("p", {class: "muted"}, "填写姓名并授权微信绑定的手机号，系统将与党组织导入的党员名单核对；一致即刻认证，否则提交支部管理员审核。"),
      h("label", {}, "姓名"), name, branchRow,
      h("div", {style: "margin-top:12px"}, submit));
    mount(view,
      identity?.status === "revoked" ? h("div", {class: "result bad"}, "您的党员身份已被撤销；重新绑定需支部管理员审核。") : null,
      request && (request.state === "pending" || request.state === "rejected") ? requestCard(request) : null,
      request?.state === "pending" ? h("p", {class: "muted"}, "如信息填写有误，可重新提交（原申请将撤回）。") : null,
      form, out);
  },
};

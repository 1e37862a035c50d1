// What a scanned code proves: a member's badge (/verify), a service post's
// plate or a merchant's plate (/plate), with the rating or feedback they invite.
import {fmtTime, h, mount, toast} from "/static/faces/dom.js";
import {coordinate, errorBox, idempotencyKey, locate, stars} from "./common.js";

const REASONS = {
  expired: ["已过期", "这个身份码已过期，请对方刷新后重新出示。"],
  bad_signature: ["无效", "签名校验失败，这不是系统签发的身份码，可能是伪造的。"],
  identity_revoked: ["已撤销", "该党员身份已被撤销，不能作为党员身份证明。"],
  identity_suspended: ["已暂停", "该党员身份已被暂停使用。"],
  unknown_key: ["无效", "签发密钥未知或已停用，请对方刷新后重新出示。"],
  not_a_badge: ["无效", "这不是党员身份码。"],
  malformed: ["无效", "二维码内容无法识别。"],
};
const MEMBER_STATUS = {full: "正式党员", probationary: "预备党员"};

function again() {
  return h("a", {class: "button full", href: "#/scan", style: "text-align:center;margin-top:8px", "data-scan-again": true}, "再扫一个");
}

const verify = {
  title: "身份核验",
  async render(view, {api, params}) {
    const code = params.get("code");
    if (!code) { mount(view, h("p", {class: "empty"}, "没有可核验的二维码"), again()); return; }
    const position = await locate(3000);
    const result = await api.post("/badges/verify", {code, location: coordinate(position)});
    const checkedAt = fmtTime(new Date().toISOString());
    if (result.valid) {
      const member = result.member;
      mount(view,
        h("div", {class: "result ok verdict", role: "status", "data-verify": "valid"},
          h("div", {class: "big"}, "✓ 身份有效"), h("div", {}, "系统签发的党员身份码，身份状态正常")),
        h("div", {class: "card"},
          h("dl", {class: "facts"},
            h("dt", {}, "姓名"), h("dd", {"data-name": true}, member.display_name),
            h("dt", {}, "所在支部"), h("dd", {}, member.branch),
            h("dt", {}, "党员类别"), h("dd", {}, MEMBER_STATUS[member.member_status] || member.member_status),
            member.member_since_year ? [h("dt", {}, "入党年份"), h("dd", {}, `${member.member_since_year}年`)] : null,
            h("dt", {}, "核验时间"), h("dd", {}, checkedAt)),
          h("p", {class: "muted"}, "为保护隐私，姓名已部分隐藏，不显示手机号和证件号。")),
        again());
      return;
    }
    const [word, why] = REASONS[result.reason] || ["无效", "无法核验这个身份码。"];
    mount(view,
      h("div", {class: "result bad verdict", role: "alert", "data-verify": "invalid", "data-reason": result.reason || ""},
        h("div", {class: "big"}, `✗ 身份${word}`), h("div", {}, why)),
      h("div", {class: "card muted"}, `核验时间 ${checkedAt}。请勿将其作为党员身份证明。`),
      again());
  },
};

function ratePost(api, post) {
  const message = h("div", {});
  const score = stars(0, {onchange: () => mount(message)});
  const comment = h("input", {name: "comment", maxlength: 200, placeholder: "服务怎么样？（可不填）"});
  const key = idempotencyKey();
  const form = h("form", {class: "card", "data-rate-post": post.id, onsubmit: async (event) => {
    event.preventDefault();
    if (!score.value) { mount(message, errorBox(new Error("请先点星星打分"))); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = {score: score.value, comment: comment.value.trim()};
      await api.post(`/posts/${post.id}/ratings`, body, key(body));
      toast("感谢您的评价");
      mount(form, h("div", {class: "result ok", role: "status", "data-rated": true}, "已评价，感谢您的反馈"));
    } catch (error) {
      mount(message, errorBox(error));
      button.disabled = false;
    }
  }}, h("strong", {}, "为本岗服务打分"), score, comment, message,
    h("button", {type: "submit", class: "primary full", style: "margin-top:8px"}, "提交评价"));
  return form;
}

function merchantFeedback(api, plate) {
  const score = stars();
  const comment = h("textarea", {name: "comment", maxlength: 200, required: true, placeholder: "您对这家党员商户的意见或表扬"});
  const message = h("div", {});
  const key = idempotencyKey();
  const form = h("form", {class: "card", "data-feedback": plate.id, onsubmit: async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = {comment: comment.value.trim(), ...(score.value ? {score: score.value} : {})};
      await api.post(`/merchant-plates/${plate.id}/feedback`, body, key(body));
      toast("感谢您的反馈");
      mount(form, h("div", {class: "result ok", role: "status", "data-sent": true}, "反馈已提交，商户所在街区的管理员会看到"));
    } catch (error) {
      mount(message, errorBox(error));
      button.disabled = false;
    }
  }}, h("strong", {}, "给商户留言"), h("div", {class: "muted"}, "评分（可不选）"), score, comment, message,
    h("button", {type: "submit", class: "primary full", style: "margin-top:8px"}, "提交反馈"));
  return form;
}

function postView(api, answer) {
  const {post, on_duty: onDuty = [], rating} = answer;
  return [
    h("div", {class: "card", "data-post": post.id},
      h("div", {class: "spread"}, h("strong", {class: "big-title"}, post.name), h("span", {class: "tag red"}, "党员服务示范岗")),
      h("div", {class: "muted"}, [post.org?.name, post.unit, post.window].filter(Boolean).join(" · ")),
      post.service_items?.length ? h("div", {class: "row", style: "margin-top:8px"},
        ...post.service_items.map((item) => h("span", {class: "tag"}, item))) : null,
      rating?.count ? h("p", {}, `★ ${rating.average.toFixed(1)}（${rating.count} 条评价）`) : h("p", {class: "muted"}, "暂无评价")),
    h("p", {class: "section-title"}, "当前在岗"),
    onDuty.length
      ? h("div", {class: "card", "data-on-duty": true}, ...onDuty.map((duty) => h("div", {class: "spread"},
          h("span", {}, h("strong", {}, duty.display_name), h("span", {class: "muted"}, ` ${duty.branch || ""}`)),
          h("span", {class: "muted"}, `${fmtTime(duty.started_at)} 上岗`))))
      : h("p", {class: "empty", "data-on-duty": true}, "当前没有党员在岗"),
    ratePost(api, post),
  ];
}

function merchantView(api, answer) {
  const {plate, valid} = answer;
  const verdict = valid
    ? h("div", {class: "result ok verdict", role: "status", "data-plate": "valid"}, h("div", {class: "big"}, "✓ 有效的党员商户"))
    : h("div", {class: "result bad verdict", role: "alert", "data-plate": "invalid"},
        h("div", {class: "big"}, plate.state === "revoked" ? "✗ 该亮牌已撤销" : "✗ 该亮牌无效"),
        h("div", {}, "这块牌子已不代表党员商户。"));
  return [
    verdict,
    h("div", {class: "card", "data-merchant": plate.id},
      h("strong", {class: "big-title"}, plate.shop_name),
      h("dl", {class: "facts"},
        h("dt", {}, "地址"), h("dd", {}, plate.address),
        h("dt", {}, "经营党员"), h("dd", {}, plate.owner),
        h("dt", {}, "所属商圈"), h("dd", {}, plate.zone?.name || ""))),
    valid ? merchantFeedback(api, plate) : null,
  ];
}

const plate = {
  title: "亮牌信息",
  async render(view, {api, params}) {
    const code = params.get("code");
    if (!code) { mount(view, h("p", {class: "empty"}, "没有可识别的牌子"), again()); return; }
    let answer;
    try {
      answer = await api.post("/plates/scan", {code});
    } catch (error) {
      mount(view, errorBox(error), again());
      return;
    }
    mount(view, ...(answer.kind === "post" ? postView(api, answer) : merchantView(api, answer)), again());
  },
};

export const routes = {"/verify": verify, "/plate": plate};

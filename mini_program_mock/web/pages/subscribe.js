// Subscribe messages: where the user will want to hear what happens next
// (their help request, a task they joined, an event they reported, their
// binding), a card offers WeChat notifications. WeChat only shows its
// dialog on a tap, so the card has a button: it asks wx.requestSubscribeMessage
// for the templates of those events (ids from GET /me/subscriptions, three at
// most, as WeChat allows) and posts the answer, as it is, to the API.
import {h, mount, toast} from "/static/faces/dom.js";

const MAX_PER_ASK = 3;

/** A card asking for `events`' notifications; hidden when there is nothing to ask. */
export function subscribePrompt({api, wx}, events, text) {
  const box = h("div", {class: "card", "data-subscribe": events.join(","), hidden: true});
  fill(box, api, wx, events, text);
  return box;
}

async function fill(box, api, wx, events, text) {
  let items;
  try {
    items = await api.all("/me/subscriptions", {limit: 100});
  } catch {
    return;  // a notification is a bonus: never in the way of the page
  }
  const wanted = items.filter((t) => t.events.some((e) => events.includes(e))).slice(0, MAX_PER_ASK);
  if (!wanted.length || wanted.every((t) => t.remaining > 0)) return;  // nothing to ask again
  const button = h("button", {type: "button", class: "primary full", "data-subscribe-ask": true, onclick: async () => {
    button.disabled = true;
    const results = await wx.requestSubscribeMessage({
      tmplIds: wanted.map((t) => t.template_id),
      names: Object.fromEntries(wanted.map((t) => [t.template_id, t.labels.join("、")])),
    });
    if (!results) { button.disabled = false; return; }  // the sheet was closed
    try {
      await api.post("/me/subscriptions", {results});
    } catch (error) {
      toast(error.message, {kind: "error"});
      button.disabled = false;
      return;
    }
    const allowed = wanted.filter((t) => results[t.template_id] === "accept").length;
    mount(box, h("p", {class: allowed ? "result ok" : "muted", "data-subscribed": String(allowed)},
      allowed ? "已开启微信通知，有进展时会通知您" : "未开启微信通知，进展可在“消息”里查看"));
  }}, "接收微信通知");
  mount(box, h("p", {class: "muted"}, text), button);
  box.hidden = false;
}

// The notices tab: what the user was told, each as a sentence with a link to
// what it is about; "all read" clears the count on the tab.
import {fmtTime, h, mount, toast} from "/static/faces/dom.js";
import {routes as allRoutes} from "../index.js";
import {errorBox, pagedList} from "./common.js";

/** The page of a task, if a group of pages has one (the volunteer's pages). */
function taskHref(id) {
  return allRoutes["/task"] ? `#/task?id=${id}` : null;
}

const quoted = (title) => (title ? `“${title}”` : "");

/** kind -> (data) => [sentence, href|null]; kinds not listed fall back to what their data names. */
const KINDS = {
  help_request_rejected: (d) => [`社区未受理您的求助${d.reason ? `：${d.reason}` : "。"}`, `#/help-request?id=${d.request_id}`],
  task_cancelled: (d) => [`志愿任务${quoted(d.title)}已取消${d.reason ? `：${d.reason}` : "。"}`, taskHref(d.task_id)],
  waitlist_promoted: (d) => [`您已从候补转为正式接单：志愿任务${quoted(d.title)}。`, taskHref(d.task_id)],
  hours_corrected: (d) => [`您在志愿任务${quoted(d.title)}中的服务时长已更正为 ${d.hours} 小时${d.reason ? `，原因：${d.reason}` : "。"}`,
    taskHref(d.task_id)],
  photo_rejected: (d) => ["您上传的一张照片未通过内容安全审核，已被删除。", d.event_id ? `#/grid-event?id=${d.event_id}` : null],
};

function describe(notice) {
  const data = notice.data || {};
  const known = KINDS[notice.kind];
  if (known) return known(data);
  if (data.event_id) return [`网格事件${quoted(data.title)}有新进展。`, `#/grid-event?id=${data.event_id}`];
  if (data.request_id) return ["您的求助有新进展。", `#/help-request?id=${data.request_id}`];
  if (data.task_id) return [`志愿任务${quoted(data.title)}有新进展。`, taskHref(data.task_id)];
  return ["您有一条新通知。", null];
}

function noticeItem(notice) {
  const [sentence, href] = describe(notice);
  const unread = !notice.read_at;
  const body = [
    h("div", {class: "spread"},
      h("span", {class: unread ? "notice-text unread" : "notice-text"}, sentence),
      unread ? h("span", {class: "tag red", "data-unread": true}, "未读") : null),
    h("div", {class: "muted"}, fmtTime(notice.created_at), href ? " · 查看详情 ›" : ""),
  ];
  return href
    ? h("a", {class: "list-item", href, "data-notice": notice.id, "data-kind": notice.kind}, body)
    : h("div", {class: "list-item", "data-notice": notice.id, "data-kind": notice.kind}, body);
}

const notices = {
  title: "消息",
  async render(view, ctx) {
    const {api, refreshUnread} = ctx;
    const list = h("div", {});
    const top = h("div", {class: "spread"}, h("p", {class: "section-title"}, "我的消息"));
    mount(view, top, list);
    const first = await pagedList(list, {
      load: (cursor) => api.get("/me/notices", {limit: 20, cursor}),
      item: noticeItem,
      empty: "暂无消息",
    });
    const newest = first.items[0];
    if (newest && first.items.some((notice) => !notice.read_at)) {
      const button = h("button", {type: "button", "data-read-all": true, onclick: async () => {
        button.disabled = true;
        try {
          await api.post("/me/notices/read", {up_to_id: newest.id});
          await refreshUnread();
          toast("已全部标为已读");
          notices.render(view, ctx);
        } catch (error) {
          button.replaceWith(errorBox(error));
        }
      }}, "全部已读");
      top.append(button);
    }
  },
};

export const routes = {"/notices": notices};

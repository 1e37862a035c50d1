// The dashboard (the console's first page): the district's figures for any
// subtree of the scope and any period — check-ins per day and per center,
// volunteer service, grid events, badges — as figure cards, ECharts charts and
// tables, each table exportable to XLSX (the API makes the workbook).
import * as echarts from "/vendor/echarts/dist/echarts.esm.min.mjs";
import {h, mount} from "/static/faces/dom.js";
import {EVENT_STATES} from "../grid/labels.js";
import {REQUEST_STATES, TASK_STATES} from "../volunteer/labels.js";
import {dayInput, field, scopeOrgs, table} from "./ui.js";

const FONT = '"PingFang SC", "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif';
const RED = ["#c8161d", "#d9a441", "#1a8f4c", "#2f6fbd", "#8c4fb5", "#e0742b", "#5a8f9c", "#9c5a5a", "#777"];
const PLATE_STATES = {pending: "待审核", approved: "已通过", rejected: "已驳回", revoked: "已撤销"};
let charts = [];

function disposeCharts() {
  for (const chart of charts) chart.dispose();
  charts = [];
}
window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));

function chart(title, option, empty = false) {
  const el = h("div", {class: "chart", role: "img", "aria-label": title});
  requestAnimationFrame(() => {
    if (!el.isConnected) return;
    const instance = echarts.init(el, null, {renderer: "canvas"});
    instance.setOption({
      animation: false, color: RED, textStyle: {fontFamily: FONT},
      title: {text: title, left: 12, top: 8, textStyle: {fontSize: 14, fontWeight: 600, fontFamily: FONT}},
      tooltip: {trigger: option.series?.[0]?.type === "pie" ? "item" : "axis"},
      grid: {left: 48, right: 20, top: 48, bottom: 36, containLabel: true},
      ...option,
      ...(empty ? {graphic: {type: "text", left: "center", top: "middle",
        style: {text: "暂无数据", fill: "#999", fontSize: 14, fontFamily: FONT}}} : {}),
    });
    charts.push(instance);
  });
  return el;
}

/** The org nodes of the scope in tree order, indented by depth. */
function treeOrder(orgs) {
  const children = new Map();
  const ids = new Set(orgs.map((o) => o.id));
  for (const org of orgs) {
    const parent = ids.has(org.parent_id) ? org.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(org);
  }
  const ordered = [];
  const walk = (parent, level) => {
    for (const org of (children.get(parent) || []).sort((a, b) => a.id - b.id)) {
      ordered.push({...org, level});
      walk(org.id, level + 1);
    }
  };
  walk(null, 0);
  return ordered;
}

const figure = (name, value, key) => h("div", {class: "figure", "data-figure": key},
  h("div", {class: "value"}, value === null || value === undefined ? "—" : String(value)), h("div", {class: "name"}, name));
const section = (title, exportButton, ...body) => h("section", {class: "stats-section"},
  h("div", {class: "spread", style: "margin:18px 0 8px"}, h("h3", {}, title), exportButton), ...body);
const pairs = (rows) => rows.map(([label, value]) => ({label, value}));
const twoColumns = (label, valueLabel) => [{label, cell: (r) => r.label}, {label: valueLabel, cell: (r) => r.value === null ? "—" : String(r.value), class: "num"}];
const percent = (rate) => rate === null ? null : `${(rate * 100).toFixed(1)}%`;

const dashboard = {
  title: "数据看板",
  async render(view, {api, toast, params, scope, go}) {
    disposeCharts();
    const today = new Date();
    const monthAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29);
    const query = {org_id: Number(params.get("org_id") || scope.org.id),
      from: params.get("from") || dayInput(monthAgo), to: params.get("to") || dayInput(today)};
    const orgs = treeOrder(await scopeOrgs(api).catch(() => [scope.org]));
    const start = new Date(`${query.from}T00:00:00`);
    const end = new Date(`${query.to}T00:00:00`);
    end.setDate(end.getDate() + 1);  // the last day is included
    // one period for every figure and every export: whole days, both included (the API reads them in Shanghai)
    const period = {org_id: query.org_id, from: query.from, to: query.to};

    const form = h("form", {class: "toolbar", "aria-label": "统计范围"},
      field("组织", h("select", {name: "org_id"}, (orgs.length ? orgs : [scope.org]).map((o) =>
        h("option", {value: o.id, selected: o.id === query.org_id}, `${"　".repeat(o.level || 0)}${o.name}`)))),
      field("开始日期", h("input", {type: "date", name: "from", value: query.from, required: true})),
      field("结束日期", h("input", {type: "date", name: "to", value: query.to, required: true})),
      h("button", {type: "submit", class: "primary"}, "查询"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      go("#/dashboard?" + new URLSearchParams({org_id: data.get("org_id"), from: data.get("from"), to: data.get("to")}));
    });
    mount(view, h("h2", {}, "数据看板"), form, h("p", {class: "empty"}, "加载中……"));

    const [checkins, volunteers, grid, badges] = await Promise.all([
      api.get("/stats/checkins", period), api.get("/stats/volunteers", period),
      api.get("/stats/grid", period), api.get("/stats/badges", period)]);
    const orgName = (orgs.find((o) => o.id === query.org_id) || scope.org).name;
    const exporter = (name, title, args) => {
      const button = h("button", {type: "button", "data-export": name, onclick: async () => {
        button.disabled = true;
        try {
          await api.download(`/stats/${name}.xlsx?${new URLSearchParams(args)}`, `${orgName}${title}（${query.from}至${query.to}）.xlsx`);
        } catch (error) {
          toast(error.message, {kind: "error"});
        } finally {
          button.disabled = false;
        }
      }}, "导出 XLSX");
      return button;
    };

    // every day of the period on the chart's axis, the days without check-ins at zero
    const perDay = new Map(checkins.days.map((d) => [d.day, d.checkins]));
    const everyDay = [];
    for (let day = new Date(start); day < end && everyDay.length < 367; day.setDate(day.getDate() + 1)) everyDay.push(dayInput(day));
    const closed = grid.closed_in_time + grid.closed_late;
    const rate = closed ? grid.closed_in_time / closed : null;
    const events = Object.values(grid.events_by_state).reduce((a, b) => a + b, 0);
    const volunteerRows = pairs([["注册志愿者", volunteers.volunteers.total], ["党员志愿者", volunteers.volunteers.members],
      ["群众志愿者", volunteers.volunteers.others], ["服务人次", volunteers.person_times],
      ["服务时长（小时）", volunteers.hours], ["平均评分", volunteers.average_rating]]);
    const stateRows = (labels, counts) => Object.entries(labels).map(([state, label]) => ({label, value: counts[state] || 0}));
    const gridStateRows = stateRows(EVENT_STATES, grid.events_by_state);
    const names = await api.all("/grid-event-categories", {limit: 100}).then((list) => Object.fromEntries(list.map((c) => [c.code, c.name]))).catch(() => ({}));
    const categoryRows = Object.entries(grid.events_by_category).sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, value]) => ({label: names[code] || code, value}));
    const overviewRows = pairs([["网格", grid.grids], ["网格党小组", grid.grid_party_groups], ["按时结案", grid.closed_in_time],
      ["超时结案", grid.closed_late], ["按时结案率", percent(rate)],
      ["平均结案用时（小时）", grid.average_seconds_to_close === null ? null : (grid.average_seconds_to_close / 3600).toFixed(1)],
      ["返工次数", grid.rework], ["提级次数", grid.escalations]]);
    const badgeRows = pairs([["亮身份次数", badges.identities_shown], ["示范岗", badges.posts], ["在岗党员", badges.on_duty_now],
      ["示范岗扫码", badges.post_plate_scans], ["商户牌扫码", badges.merchant_plate_scans], ["服务评价", badges.ratings],
      ["平均评分", badges.average_rating],
      ...Object.entries(PLATE_STATES).map(([state, label]) => [`商户牌（${label}）`, badges.merchant_plates[state] || 0])]);

    mount(view, h("h2", {}, "数据看板"), form,
      h("p", {class: "muted"}, `${orgName} · ${query.from} 至 ${query.to}（示范岗、在岗党员、商户牌为当前数）`),
      h("div", {class: "cards", "aria-label": "主要数据"},
        figure("注册志愿者", volunteers.volunteers.total, "volunteers"),
        figure("服务人次", volunteers.person_times, "person_times"),
        figure("服务时长（小时）", volunteers.hours, "hours"),
        figure("阵地签到人次", checkins.total, "checkins"),
        figure("网格事件", events, "events"),
        figure("按时结案率", percent(rate), "closed_in_time_rate"),
        figure("亮身份次数", badges.identities_shown, "identities_shown"),
        figure("示范岗与商户牌扫码", badges.post_plate_scans + badges.merchant_plate_scans, "plate_scans")),

      section("阵地签到", exporter("checkins", "阵地签到统计", period),
        h("div", {class: "two"},
          chart("每日签到人次", {xAxis: {type: "category", data: everyDay.map((day) => day.slice(5))},
            yAxis: {type: "value", minInterval: 1}, series: [{type: "line", name: "签到人次", showSymbol: everyDay.length <= 31, areaStyle: {opacity: 0.15},
              data: everyDay.map((day) => perDay.get(day) || 0)}]}, !checkins.days.length),
          chart("各阵地签到人次", {xAxis: {type: "value", minInterval: 1},
            yAxis: {type: "category", inverse: true, data: checkins.centers.map((c) => c.name), axisLabel: {width: 160, overflow: "truncate"}},
            series: [{type: "bar", name: "签到人次", barMaxWidth: 22, data: checkins.centers.map((c) => c.checkins)}]},
          !checkins.centers.length)),
        h("div", {class: "two"},
          table([{label: "日期", cell: (d) => d.day}, {label: "签到人次", cell: (d) => String(d.checkins), class: "num"}],
            [...checkins.days, {day: "合计", checkins: checkins.total}], {empty: "该时段没有签到", attrs: {"aria-label": "每日签到"}}),
          table([{label: "阵地", cell: (c) => c.name}, {label: "签到人次", cell: (c) => String(c.checkins), class: "num"}],
            checkins.centers, {empty: "该时段没有签到", attrs: {"aria-label": "各阵地签到"}}))),

      section("志愿服务", exporter("volunteers", "志愿服务统计", period),
        h("div", {class: "two"},
          table(twoColumns("指标", "数值"), volunteerRows, {attrs: {"aria-label": "志愿服务"}}),
          chart("志愿任务（按状态）", {
            xAxis: {type: "category", data: ["草稿", "已发布", "进行中", "已完成", "已取消"]}, yAxis: {type: "value", minInterval: 1},
            series: [{type: "bar", name: "任务", barMaxWidth: 26, data: Object.keys(TASK_STATES).map((s) => volunteers.tasks_by_state[s] || 0)}]},
          !Object.values(volunteers.tasks_by_state).some(Boolean))),
        h("div", {class: "two"},
          table(twoColumns("求助单状态", "数量"), stateRows(REQUEST_STATES, volunteers.requests_by_state), {attrs: {"aria-label": "求助单"}}),
          table(twoColumns("任务状态", "数量"), stateRows(TASK_STATES, volunteers.tasks_by_state), {attrs: {"aria-label": "任务"}}))),

      section("网格事件", exporter("grid", "网格事件统计", period),
        h("div", {class: "two"},
          chart("事件状态分布", {legend: {type: "scroll", orient: "vertical", right: 10, top: 40},
            series: [{type: "pie", name: "事件", radius: ["35%", "65%"], center: ["40%", "55%"],
              data: gridStateRows.filter((r) => r.value).map((r) => ({name: r.label, value: r.value}))}]}, !events),
          table(twoColumns("指标", "数值"), overviewRows, {attrs: {"aria-label": "网格概况"}})),
        h("div", {class: "two"},
          table(twoColumns("状态", "事件数"), gridStateRows, {attrs: {"aria-label": "事件按状态"}}),
          table(twoColumns("类别", "事件数"), categoryRows, {empty: "该时段没有事件", attrs: {"aria-label": "事件按类别"}}))),

      section("党员亮身份", exporter("badges", "亮身份统计", period),
        h("div", {class: "two"}, table(twoColumns("指标", "数值"), badgeRows, {attrs: {"aria-label": "亮身份"}}),
          chart("扫码与评价", {xAxis: {type: "category", data: ["亮身份", "示范岗扫码", "商户牌扫码", "服务评价"]},
            yAxis: {type: "value", minInterval: 1}, series: [{type: "bar", name: "次数", barMaxWidth: 30,
              data: [badges.identities_shown, badges.post_plate_scans, badges.merchant_plate_scans, badges.ratings]}]},
          !(badges.identities_shown || badges.post_plate_scans || badges.merchant_plate_scans || badges.ratings)))));
  },
};

export const routes = {"/dashboard": dashboard};
export const nav = [{group: "概览", label: "数据看板", href: "#/dashboard", roles: ["district_admin", "org_admin", "center_admin"]}];

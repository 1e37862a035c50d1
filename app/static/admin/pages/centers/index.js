// The CENTERS area: service centers (阵地) and their settings, code key,
// display screens, printable posters and plates, occupancy and check-ins.
import {fmtTime, h, mount} from "/static/faces/dom.js";
import {alertBox, ask, KIND_NAMES, orgPicker, pickedOrg, subtree, table} from "../org/ui.js";

const MANAGERS = ["district_admin", "org_admin"];
const WEEKDAYS = [["mon", "周一"], ["tue", "周二"], ["wed", "周三"], ["thu", "周四"], ["fri", "周五"], ["sat", "周六"], ["sun", "周日"]];
const MODES = {rotating: "动态码（显示屏）", static: "静态码（打印海报）"};
const PURPOSES = {visit: "到访", service_shift: "值班服务", study: "学习", meeting: "会议", activity: "活动"};
const RESULTS = {ok: ["签到成功", "ok"], already_checked_in: ["重复签到", "warn"], checked_out: ["签退", "ok"],
  already_checked_out: ["重复签退", "warn"]};

const centerPath = (id) => `#/centers/detail?id=${id}`;

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** "08:30-12:00, 14:00-18:00" <-> [["08:30","12:00"],["14:00","18:00"]] */
function spansText(spans) {
  return (spans || []).map(([open, close]) => `${open}-${close}`).join(", ");
}

function parseSpans(text) {
  return text.split(/[,，;；\s]+/).filter(Boolean).map((span) => span.split(/[-–~～]/).map((part) => part.trim()));
}

const CENTER_FIELDS = (center = {}) => [
  {name: "name", label: "名称", required: true, value: center.name},
  {name: "address", label: "地址", value: center.address},
  {name: "lat", label: "纬度（GCJ-02）", type: "number", step: "any", required: true, value: center.location?.lat},
  {name: "lng", label: "经度（GCJ-02）", type: "number", step: "any", required: true, value: center.location?.lng},
  {name: "radius_m", label: "签到半径（米）", type: "number", value: center.radius_m ?? 200},
  {name: "code_mode", label: "签到码", options: Object.entries(MODES), value: center.code_mode || "rotating"},
];

function centerBody(values) {
  const body = {name: values.name, address: values.address || "", code_mode: values.code_mode,
    location: {lat: Number(values.lat), lng: Number(values.lng), coord_system: "gcj02"}};
  if (values.radius_m) body.radius_m = Number(values.radius_m);
  return body;
}

// ---- the list -----------------------------------------------------------------

const list = {
  title: "阵地列表",
  async render(view, ctx) {
    const nodes = await subtree(ctx.api, ctx.scope);
    const org = pickedOrg(nodes, ctx.params);
    const centers = await ctx.api.all("/centers", {org_id: org.id, limit: 100});
    const create = async () => {
      const created = await ask({
        title: "新建阵地", text: `建在“${org.name}”下。位置用于核验签到距离（GCJ-02 坐标，可在腾讯/高德地图拾取）。`,
        fields: CENTER_FIELDS(), confirm: "创建",
        submit: (values) => ctx.api.post("/centers", {...centerBody(values), org_id: org.id}),
      });
      if (created) ctx.go(centerPath(created.id));
    };
    mount(view, h("h2", {}, "阵地列表"),
      h("div", {class: "toolbar"}, orgPicker(nodes, org, ctx.go, "/centers"),
        MANAGERS.includes(ctx.scope.role) ? h("button", {class: "primary", "data-new-center": "", onclick: create}, "新建阵地") : null),
      table([
        {label: "名称", cell: (c) => h("a", {href: centerPath(c.id)}, c.name)},
        {label: "所属组织", cell: (c) => c.org?.name || ""},
        {label: "地址", cell: (c) => c.address || ""},
        {label: "签到码", cell: (c) => MODES[c.code_mode] || c.code_mode},
        {label: "半径", cell: (c) => `${c.radius_m} 米`},
        {label: "", cell: (c) => h("a", {class: "button", href: centerPath(c.id)}, "管理")},
      ], centers, {empty: `“${org.name}”下还没有阵地`}));
  },
};

// ---- one center -------------------------------------------------------------------

function displayUrl(centerId, token) {
  return `${location.origin}/display/centers/${centerId}?device_token=${encodeURIComponent(token)}`;
}

function deviceShown(ctx, center, device) {
  const url = displayUrl(center.id, device.device_token);
  const input = h("input", {readonly: true, value: url, "data-display-url": "", "aria-label": "显示屏地址"});
  return h("div", {class: "card", "data-new-device": ""},
    h("h3", {}, `显示屏“${device.name}”已登记`),
    h("p", {class: "muted"}, "在显示屏的浏览器中打开下面的地址（全屏显示）。地址中的令牌只显示这一次，请妥善保存；丢失后可撤销并重新登记。"),
    h("div", {class: "copy-row"}, input, h("button", {onclick: async () => {
      try {
        await navigator.clipboard.writeText(url);
        ctx.toast("已复制");
      } catch {
        input.select();
        ctx.toast("请按 Ctrl+C 复制", {kind: "error"});
      }
    }, "data-copy": ""}, "复制")),
    h("h3", {}, "预览"),
    h("iframe", {class: "preview", src: url, title: `显示屏预览：${device.name}`}));
}

async function devicesCard(ctx, center) {
  const card = h("div", {class: "card", "data-devices": ""});
  const shown = h("div", {});
  const draw = async () => {
    const devices = await ctx.api.all(`/centers/${center.id}/display-devices`, {limit: 100});
    const form = h("form", {class: "row", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const device = await ctx.api.post(`/centers/${center.id}/display-devices`, {name: form.elements.name.value.trim()});
        await draw();
        mount(shown, deviceShown(ctx, center, device));
      } catch (error) {
        mount(shown, alertBox(error));
      }
    }}, h("input", {name: "name", required: true, placeholder: "显示屏名称，如 一楼大厅"}),
    h("button", {class: "primary", "data-register-device": ""}, "登记显示屏"));
    mount(card, h("h3", {}, "显示屏"),
      center.code_mode === "static" ? h("p", {class: "muted"}, "该阵地使用静态码：显示屏可用，但签到码不会轮换。") : null,
      form,
      table([
        {label: "名称", cell: (d) => d.name}, {label: "登记时间", cell: (d) => fmtTime(d.created_at)},
        {label: "状态", cell: (d) => d.revoked_at ? h("span", {class: "tag bad"}, "已撤销") : h("span", {class: "tag ok"}, "使用中")},
        {label: "操作", cell: (d) => d.revoked_at ? "" : h("button", {class: "danger", onclick: async () => {
          const done = await ask({title: "撤销显示屏", text: `撤销后“${d.name}”将无法再显示签到码。`, confirm: "撤销", danger: true,
            submit: () => ctx.api.del(`/centers/${center.id}/display-devices/${d.id}`).then(() => true)});
          if (done) { mount(shown); draw(); }
        }}, "撤销")},
      ], devices, {empty: "还没有登记显示屏"}),
      shown);
  };
  await draw();
  return card;
}

function settingsCard(ctx, center, manage) {
  const problem = h("div", {});
  const input = (name, attrs = {}) => h("input", {name, value: center[name] ?? "", disabled: !manage, ...attrs});
  const hours = WEEKDAYS.map(([day, label]) => h("div", {class: "field"}, h("label", {}, label),
    h("input", {name: `hours_${day}`, value: spansText(center.opening_hours?.[day]), placeholder: "不填为全天开放，如 08:30-12:00, 14:00-18:00", disabled: !manage})));
  const form = h("form", {"data-settings": "", onsubmit: async (event) => {
    event.preventDefault();
    const values = Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v).trim()]));
    const opening = {};
    for (const [day] of WEEKDAYS) if (values[`hours_${day}`]) opening[day] = parseSpans(values[`hours_${day}`]);
    const body = {
      ...centerBody(values), opening_hours: opening,
      rotation_seconds: Number(values.rotation_seconds), grace_seconds: Number(values.grace_seconds),
      duplicate_window_seconds: values.duplicate_window_seconds ? Number(values.duplicate_window_seconds) : null,
    };
    try {
      await ctx.api.patch(`/centers/${center.id}`, body);
      ctx.toast("已保存");
      ctx.go(location.hash);
    } catch (error) {
      const fields = error.details?.fields;
      mount(problem, alertBox(error), fields ? h("pre", {class: "muted"}, JSON.stringify(fields, null, 1)) : null);
    }
  }},
  h("div", {class: "two"},
    h("div", {},
      h("div", {class: "field"}, h("label", {}, "名称"), input("name", {required: true})),
      h("div", {class: "field"}, h("label", {}, "地址"), input("address")),
      h("div", {class: "row"},
        h("div", {class: "field"}, h("label", {}, "纬度"), h("input", {name: "lat", type: "number", step: "any", value: center.location.lat, disabled: !manage})),
        h("div", {class: "field"}, h("label", {}, "经度"), h("input", {name: "lng", type: "number", step: "any", value: center.location.lng, disabled: !manage}))),
      h("div", {class: "field"}, h("label", {}, "签到半径（米，20–5000）"), input("radius_m", {type: "number", min: 20, max: 5000})),
      h("div", {class: "field"}, h("label", {}, "签到码"), h("select", {name: "code_mode", disabled: !manage},
        ...Object.entries(MODES).map(([value, label]) => h("option", {value, selected: value === center.code_mode}, label)))),
      h("div", {class: "row"},
        h("div", {class: "field"}, h("label", {}, "换码间隔（秒）"), input("rotation_seconds", {type: "number", min: 10, max: 3600})),
        h("div", {class: "field"}, h("label", {}, "旧码宽限（秒）"), input("grace_seconds", {type: "number", min: 0, max: 600}))),
      h("div", {class: "field"}, h("label", {}, "重复签到间隔（秒，不填为同一天）"),
        input("duplicate_window_seconds", {type: "number", min: 60}))),
    h("div", {}, h("p", {class: "muted"}, "开放时间（当地时间；空白为全天开放）"), ...hours)),
  problem,
  manage ? h("button", {class: "primary", "data-save": ""}, "保存设置") : null);
  return h("div", {class: "card"}, h("h3", {}, "阵地设置"), form);
}

const detail = {
  title: "阵地管理",
  async render(view, ctx) {
    const id = Number(ctx.params.get("id"));
    const center = await ctx.api.get(`/centers/${id}`);
    const manage = MANAGERS.includes(ctx.scope.role);
    const day = ctx.params.get("day") || today();
    const [occupancy, checkins] = await Promise.all([
      ctx.api.get(`/centers/${id}/occupancy`).catch((error) => ({error})),
      ctx.api.get(`/centers/${id}/checkins`, {day, limit: 100}).catch((error) => ({error})),
    ]);
    const rotate = async () => {
      const done = await ask({title: "更换签到码密钥", danger: true, confirm: "更换",
        text: "更换后，已打印的海报和显示屏上的旧码立即失效；显示屏会自动显示新码，静态码海报需重新打印。",
        submit: () => ctx.api.post(`/centers/${id}/rotate-key`)});
      if (done) { ctx.toast(`已更换，密钥版本 ${done.key_version}`); ctx.go(location.hash); }
    };
    const posters = h("div", {class: "card"}, h("h3", {}, "海报"),
      center.code_mode === "static"
        ? [h("p", {class: "muted"}, "静态签到码海报，A4 打印张贴在阵地入口。"),
          h("div", {class: "actions"},
            h("button", {class: "primary", "data-poster-pdf": "", onclick: () => download(ctx, `/centers/${id}/poster.pdf`, `${center.name}-签到海报.pdf`)}, "下载 PDF（A4）"),
            h("button", {onclick: () => download(ctx, `/centers/${id}/poster.png`, `${center.name}-签到海报.png`)}, "下载图片"))]
        : h("p", {class: "muted"}, "该阵地使用动态码，请用显示屏展示；如需打印海报，请先在设置中改为静态码。"));
    const dayInput = h("input", {type: "date", value: day, "aria-label": "日期", style: "width:auto",
      onchange: (event) => ctx.go(`#/centers/detail?id=${id}&day=${event.target.value}`)});
    mount(view,
      h("div", {class: "spread"}, h("h2", {}, center.name),
        h("a", {href: `#/centers?org=${center.org?.id || ""}`}, "返回阵地列表")),
      h("p", {class: "muted"}, `${center.org?.name || ""}（${KIND_NAMES[center.org?.kind] || ""}）· ${MODES[center.code_mode]} · 密钥版本 ${center.key_version}`),
      h("div", {class: "cards"},
        h("div", {class: "figure"}, h("div", {class: "value", "data-inside": ""}, occupancy.error ? "—" : occupancy.inside), h("div", {class: "name"}, "当前在馆人数")),
        h("div", {class: "figure"}, h("div", {class: "value"}, checkins.error ? "—" : checkins.items.filter((a) => a.result === "ok").length), h("div", {class: "name"}, `${day} 成功签到`))),
      settingsCard(ctx, center, manage),
      manage ? h("div", {class: "card"}, h("h3", {}, "签到码密钥"),
        h("p", {class: "muted"}, "怀疑签到码被转发或海报被翻拍时，更换密钥让旧码全部失效。"),
        h("button", {class: "danger", "data-rotate": "", onclick: rotate}, "更换密钥")) : null,
      posters,
      await devicesCard(ctx, center),
      h("div", {class: "card"}, h("div", {class: "spread"}, h("h3", {}, "签到记录"), dayInput),
        checkins.error ? alertBox(checkins.error) : table([
          {label: "时间", cell: (a) => fmtTime(a.server_time)}, {label: "用户", cell: (a) => `用户 #${a.user_id}`},
          {label: "类型", cell: (a) => a.type === "exit" ? "签退" : "签到"},
          {label: "事由", cell: (a) => PURPOSES[a.purpose] || a.purpose || ""},
          {label: "结果", cell: (a) => RESULTS[a.result] ? h("span", {class: `tag ${RESULTS[a.result][1]}`}, RESULTS[a.result][0]) : h("span", {class: "tag bad"}, a.result)},
          {label: "距离", cell: (a) => a.distance_m == null ? "" : `${Math.round(a.distance_m)} 米`},
        ], checkins.items, {empty: "这一天没有签到记录"})));
  },
};

async function download(ctx, path, filename) {
  try {
    await ctx.api.download(path, filename);
  } catch (error) {
    ctx.toast(error.message, {kind: "error"});
  }
}

// ---- printing: center posters, post plates, merchant plates ----------------------------

const printing = {
  title: "打印海报与牌匾",
  async render(view, ctx) {
    const nodes = await subtree(ctx.api, ctx.scope);
    const org = pickedOrg(nodes, ctx.params);
    const [centers, posts] = await Promise.all([
      ctx.api.all("/centers", {org_id: org.id, limit: 100}),
      ctx.api.all("/posts", {org_id: org.id, limit: 100}).catch(() => []),
    ]);
    const zones = nodes.filter((node) => node.kind === "business_zone");
    const plates = (await Promise.all(zones.map((zone) =>
      ctx.api.all("/merchant-plates", {zone_id: zone.id, state: "approved", limit: 100}).catch(() => [])))).flat();
    const pdf = (path, filename) => h("button", {onclick: () => download(ctx, path, filename), "data-pdf": path}, "下载 PDF");
    const statics = centers.filter((center) => center.code_mode === "static");
    mount(view, h("h2", {}, "打印海报与牌匾"),
      h("div", {class: "toolbar"}, orgPicker(nodes, org, ctx.go, "/centers/print")),
      h("p", {class: "muted"}, "均为 A4、300 dpi 的 PDF，可直接打印。"),
      h("h3", {}, "阵地签到海报（静态码）"),
      table([{label: "阵地", cell: (c) => c.name}, {label: "地址", cell: (c) => c.address || ""},
        {label: "", cell: (c) => pdf(`/centers/${c.id}/poster.pdf`, `${c.name}-签到海报.pdf`)}],
      statics, {empty: centers.length ? "这些阵地都使用动态码（显示屏），没有需要打印的海报" : "没有阵地"}),
      h("h3", {}, "党员示范岗岗牌"),
      table([{label: "岗位", cell: (p) => p.name}, {label: "单位", cell: (p) => `${p.unit || ""} ${p.window || ""}`},
        {label: "", cell: (p) => pdf(`/posts/${p.id}/plate.pdf`, `${p.name}-岗牌.pdf`)}], posts, {empty: "没有示范岗"}),
      h("h3", {}, "党员商户亮牌（已通过）"),
      table([{label: "商户", cell: (p) => p.shop_name}, {label: "地址", cell: (p) => p.address || ""},
        {label: "商圈", cell: (p) => p.zone?.name || ""},
        {label: "", cell: (p) => pdf(`/merchant-plates/${p.id}/plate.pdf`, `${p.shop_name}-亮牌.pdf`)}],
      plates, {empty: zones.length ? "没有已通过的亮牌" : "本组织下没有商圈"}));
  },
};

export const routes = {"/centers": list, "/centers/detail": detail, "/centers/print": printing};
export const nav = [
  {group: "阵地", label: "阵地列表", href: "#/centers"},
  {group: "阵地", label: "打印海报与牌匾", href: "#/centers/print", roles: MANAGERS},
];

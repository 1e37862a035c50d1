// Check in and out at a service center by scanning its code, and my check-ins.
import {fmtTime, h, mount, toast} from "/static/faces/dom.js";
import {classify, scanned} from "../../scan.js";
import {PURPOSES, apiLocation, centerName, codeSubject, duration, pagedList, refusal} from "./common.js";

const PURPOSE_KEY = "mp.checkin.purpose";

/** The scanned code's text (a mini-program code's, as the API resolved it); null if
 * cancelled or refused (a forged, replaced or expired mini-program code: told in a toast). */
async function scanCenter(wx, api) {
  const answer = await wx.scanCode({onlyFromCamera: false, scanType: ["qrCode"]});
  if (!answer) return null;
  try {
    return (await scanned(api, answer)).text;
  } catch (error) {
    toast(error.message, {kind: "error"});
    return null;
  }
}

function resultCard(status, checkin, center) {
  const when = fmtTime(checkin.checked_in_at);
  const facts = [
    h("div", {class: "muted"}, center),
    h("div", {}, `签到时间 ${when} · ${PURPOSES[checkin.purpose] || checkin.purpose}`),
    checkin.distance_m !== null && checkin.distance_m !== undefined
      ? h("div", {class: "muted"}, `距中心 ${Math.round(checkin.distance_m)} 米`) : null,
  ];
  if (checkin.exited_at) {
    facts.push(h("div", {}, `签退时间 ${fmtTime(checkin.exited_at)} · 停留 ${duration(checkin.duration_seconds)}`));
  }
  const titles = {
    ok: ["签到成功", "ok"],
    already_checked_in: ["今日已签到，无需重复签到", "warn"],
    checked_out: ["签退成功", "ok"],
    already_checked_out: ["今日已签退", "warn"],
  };
  const [title, kind] = titles[status] || [status, "warn"];
  return h("div", {class: `result ${kind}`, "data-status": status, role: "status"},
    h("div", {style: "font-weight:600"}, title), h("div", {style: "font-size:15px;margin-top:4px"}, ...facts));
}

export const checkin = {
  title: "扫码签到",
  async render(view, ctx) {
    const {api, wx, go, params} = ctx;
    const text = params.get("code");
    const rescan = async () => {
      const text = await scanCenter(wx, api);
      if (text) go(`#/checkin?code=${encodeURIComponent(text)}&t=${Date.now()}`);
    };
    if (!text) {
      mount(view, h("div", {class: "card"}, h("p", {}, "请扫描服务中心现场的签到二维码。"),
        h("button", {class: "primary full", onclick: rescan, "data-scan": true}, "扫码签到")));
      return;
    }
    const code = classify(text);
    if (code.kind !== "center") {
      mount(view, h("div", {class: "result bad", role: "alert"}, "这不是服务中心的签到码，请扫描中心现场的二维码。"),
        h("button", {class: "full", onclick: rescan}, "重新扫码"));
      return;
    }
    const centerId = codeSubject(code.token);
    const name = centerId ? await centerName(api, centerId) : "服务中心";
    const out = h("div", {"data-checkin-result": true});
    const purpose = h("select", {name: "purpose"},
      ...Object.entries(PURPOSES).map(([value, label]) =>
        h("option", {value, selected: value === (localStorage.getItem(PURPOSE_KEY) || "visit")}, label)));
    const send = async (type, code = text) => {
      mount(out, h("p", {class: "empty"}, "正在获取位置……"));
      let location;
      try {
        location = await apiLocation(wx);
      } catch (error) {
        mount(out, h("div", {class: "result bad", role: "alert"}, error.message || "无法获取位置"),
          h("a", {class: "button full", href: "#/mine", style: "text-align:center"}, "在“我的”里设置位置"));
        return;
      }
      localStorage.setItem(PURPOSE_KEY, purpose.value);
      mount(out, h("p", {class: "empty"}, type === "exit" ? "正在签退……" : "正在签到……"));
      try {
        const answer = await api.post("/checkins", {code, location, purpose: purpose.value, type});
        choose.hidden = true;  // done with this scan: the next step is below
        const extra = [];
        if (answer.status === "ok" || answer.status === "already_checked_in") {
          extra.push(h("p", {class: "muted"}, "离开时请再次扫描中心的二维码签退。"),
            h("button", {class: "full", "data-exit": true, onclick: async () => {
              const again = await scanCenter(wx, api);
              if (again) send("exit", again);
            }}, "签退"));
        }
        mount(out, resultCard(answer.status, answer.checkin, name), ...extra,
          h("a", {class: "button full", href: "#/member/checkins", style: "text-align:center;margin-top:8px"}, "我的签到记录"));
      } catch (error) {
        const links = [];
        if (error.code === "not_a_member") links.push(h("a", {class: "button full", href: "#/member/bind"}, "去绑定党员身份"));
        if (error.code === "expired_code" || error.code === "invalid_code") links.push(h("button", {class: "full", onclick: rescan}, "重新扫码"));
        if (error.code === "location_required" || error.code === "location_inaccurate" || error.code === "out_of_range") {
          links.push(h("button", {class: "full", onclick: () => send(type, code)}, "重新定位后重试"));
        }
        mount(out, refusal(error), ...links);
      }
    };
    const choose = h("div", {},
      h("label", {}, "签到事由"), purpose,
      h("div", {class: "row", style: "margin-top:12px"},
        h("button", {class: "primary", style: "flex:2", "data-entry": true, onclick: () => send("entry")}, "签到"),
        h("button", {style: "flex:1", "data-exit-now": true, onclick: () => send("exit")}, "签退")));
    mount(view,
      h("div", {class: "card"},
        h("div", {class: "spread"}, h("strong", {"data-center": true}, name), h("span", {class: "tag red"}, "党群服务中心")),
        choose),
      out);
  },
};

/** The home menu's "签到": open the scanner, then the check-in page. */
export const scanToCheckin = {
  title: "扫码签到",
  async render(view, {api, wx, go}) {
    const open = async () => {
      const text = await scanCenter(wx, api);
      if (!text) return;
      const target = classify(text);
      if (target.kind === "center") go(`#/checkin?code=${encodeURIComponent(text)}`);
      else mount(note, h("div", {class: "result bad", role: "alert"}, "这不是服务中心的签到码"));
    };
    const note = h("div", {});
    mount(view, h("div", {class: "card"}, h("p", {}, "到达党群服务中心后，扫描现场屏幕或海报上的二维码签到。"),
      h("button", {class: "primary full", onclick: open, "data-scan": true}, "扫码签到")), note);
    open();
  },
};

export const myCheckins = {
  title: "我的签到",
  async render(view, {api}) {
    const list = pagedList({
      name: "checkins",
      empty: "还没有签到记录",
      load: (cursor) => api.get("/me/checkins", {limit: 10, cursor}),
      item: async (row) => h("div", {class: "card", "data-checkin": row.id},
        h("div", {class: "spread"}, h("strong", {}, await centerName(api, row.center_id)),
          h("span", {class: "tag red"}, PURPOSES[row.purpose] || row.purpose)),
        h("div", {class: "muted"}, `签到 ${fmtTime(row.checked_in_at)}`, row.offline ? " · 离线补交" : ""),
        row.exited_at ? h("div", {class: "muted"}, `签退 ${fmtTime(row.exited_at)} · 停留 ${duration(row.duration_seconds)}`)
          : h("div", {class: "muted"}, "未签退")),
    });
    mount(view, list.element);
    await list.ready;
  },
};

// The resident's pages (everyone logged in): ask for help and rate it (点单、评单),
// what a scanned badge or plate proves, and the notices tab.
import * as help from "./help.js";
import * as scanned from "./scanned.js";
import * as notices from "./notices.js";

export const routes = {...help.routes, ...scanned.routes, ...notices.routes};

/** {section, label, icon, href, show(me)}: show decides from GET /me whether the entry appears. */
export const menu = [
  {section: "居民服务", label: "我要求助", icon: "✚", href: "#/help-requests/new"},
  {section: "居民服务", label: "我的求助", icon: "☰", href: "#/help-requests"},
  {section: "居民服务", label: "亮身份核验", icon: "✓", href: "#/scan"},
  {section: "居民服务", label: "消息", icon: "✉", href: "#/notices"},
];

// The center screen (templates/display_center.html): poll the display-code JSON
// and swap the code before it expires; a code past its expiry is hidden.
// A static file, so that the page's Content-Security-Policy allows no inline script.
(function () {
  var page = document.body.dataset;
  var url = page.displayUrl + encodeURIComponent(page.deviceToken);
  var code = document.getElementById("code"), status = document.getElementById("status");
  var expiresAt = Date.parse(code.dataset.expiresAt) || Infinity, offset = 0, timer = null;
  function schedule(seconds) { clearTimeout(timer); timer = setTimeout(refresh, seconds * 1000); }
  function refresh() {
    fetch(url, {cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (d) {
      offset = Date.parse(d.server_time) - Date.now();
      code.innerHTML = d.qr_svg;
      code.classList.remove("stale");
      status.textContent = "请使用微信扫一扫签到";
      document.getElementById("today-count").textContent = d.today_count;
      document.getElementById("center-name").textContent = d.center_name;
      expiresAt = d.expires_at ? Date.parse(d.expires_at) : Infinity;
      schedule(d.refresh_in == null ? 60 : Math.max(d.refresh_in, 0) + 0.3);
    }).catch(function () { schedule(3); });
  }
  // Never show a code that no longer counts, even if the network is down.
  setInterval(function () {
    if (Date.now() + offset >= expiresAt) { code.classList.add("stale"); status.textContent = "正在更新签到码…"; }
  }, 250);
  schedule(Number(page.refreshIn) + 0.3);
})();

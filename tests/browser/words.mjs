// The citizens' pages as a person reads them, in the browser (issue 15): at phone and desktop
// sizes, the rendered text of every page (what CSS shows at that width, and the labels a
// screen reader speaks) has no developer words, no codes and no English on a Chinese page, and
// axe-core finds nothing serious. The same list as crates/server/tests/citizen.rs scans in the
// HTML, here after layout. Run by run.mjs in the 关怀模式 context, signed in as the elder.

/** Words that mean nothing at the window (crates/server/tests/citizen.rs keeps the same list). */
const FORBIDDEN = ["opter_type", "1101", "setl_id", "psn_no", "admdvs", "SHA-256", "SHA256", "校验码",
  ".toml", "policies/", "占位值", "家庭关系代码", "版本", "GJ-", "统筹0.00元", "2000-01-01", "phone must"];

/** The visible text and spoken labels, without the parts English on purpose (the language
 * switch), the small 咨询时请提供 line and the demo's own code notice. */
export async function readable(page, alsoSkip = "") {
  return page.evaluate((alsoSkip) => {
    // The 亲情账户 code is shown to be read out to the cashier, letters and all.
    const skipped = '[lang="en"], .consult, [data-testid="demo-code-box"], [data-testid="proxy-code"], script, style';
    const skip = (e) => e.closest(alsoSkip ? `${skipped}, ${alsoSkip}` : skipped);
    const parts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const e = n.parentElement;
      if (!e || skip(e)) continue;
      const r = e.getBoundingClientRect();
      const style = getComputedStyle(e);
      if ((r.width === 0 && r.height === 0) || style.visibility === "hidden" || style.display === "none") continue;
      if (e.closest(".sr-only") === null && e.offsetParent === null && style.position !== "fixed") continue;
      parts.push(n.textContent);
    }
    for (const e of document.querySelectorAll("[aria-label], [placeholder], [alt], [title]")) {
      if (skip(e)) continue;
      for (const a of ["aria-label", "placeholder", "alt", "title"]) if (e.hasAttribute(a)) parts.push(e.getAttribute(a));
    }
    return parts.join(" ");
  }, alsoSkip);
}

export function problems(label, text) {
  const found = [];
  for (const w of FORBIDDEN) if (text.includes(w)) found.push(`${label}: "${w}" in “${text.slice(Math.max(0, text.indexOf(w) - 20), text.indexOf(w) + 30).trim()}”`);
  const english = text.match(/[A-Za-z]{2,}/g);
  if (english) found.push(`${label}: English ${JSON.stringify([...new Set(english)].slice(0, 8))}`);
  const codes = text.match(/(?<![\d*.])\d{6}(?![\d*.])/g);
  if (codes) found.push(`${label}: region codes ${JSON.stringify(codes.slice(0, 5))}`);
  return found;
}

export async function wordsTests(h, page) {
  const { test, assert, checkPage, BASE } = h;
  await test("every citizen page at phone and desktop sizes: plain Chinese, no codes, axe clean", async () => {
    const pages = ["/", "/guide", "/guide/shandong-zibo", "/nearby?city=370300", "/nearby?city=370300&kind=agency",
      "/h5/signin", "/no-such-page", "/h5", "/h5/family", "/h5/records", "/h5/messages", "/h5/proxy",
      "/h5/premium", "/h5/premium/self", "/h5/payments", "/h5/requests", "/h5/quotas"];
    const found = [];
    for (const p of pages) {
      for (const [size, w, hgt] of [["phone", 360, 780], ["desktop", 1280, 900]]) {
        await page.setViewportSize({ width: w, height: hgt });
        await page.goto(`${BASE}${p}${p.includes("?") ? "&" : "?"}lang=zh`);
        found.push(...problems(`${p} (${size})`, await readable(page)));
      }
      await page.setViewportSize({ width: 360, height: 780 });
      await checkPage(page, `words${p.replace(/[/?=&]+/g, "-")}`, { shot: false });
    }
    assert(found.length === 0, `${found.length} problems:\n${found.join("\n")}`);
  });
}

// Browser tests of 关怀模式 (elder mode) and the citizens' menu (issue 15): the switch turns
// larger type and targets on for this device (a cookie; a plain link, so it works without
// JavaScript), every link, button and breadcrumb is then at least 44 px tall, the home page
// shows the four things an older person does, and the phone menu is never cut off.
// Run by run.mjs, which passes its helpers in `h`.

import { signIn } from "./people.mjs";

/** Every visible link, button and summary shorter than `min` px, as "text (height)". */
async function smallTargets(page, min) {
  return page.evaluate((min) => {
    const out = [];
    for (const e of document.querySelectorAll("a, button, summary")) {
      if (e.closest("svg") || e.classList.contains("skip") || e.closest(".sr-only")) continue;
      const r = e.getBoundingClientRect();
      const style = getComputedStyle(e);
      if (r.width === 0 || r.height === 0 || style.visibility === "hidden") continue;
      if (r.height < min - 0.5) out.push(`${(e.innerText || e.getAttribute("aria-label") || e.tagName).trim().slice(0, 20)} (${Math.round(r.height)} px)`);
    }
    return out;
  }, min);
}

/** The main menu fits the screen: no entry is cut off or needs a sideways scroll. */
async function menuFits(page) {
  return page.evaluate(() => {
    const nav = document.querySelector(".mainnav-in");
    const cut = [...nav.querySelectorAll("a")]
      .filter((a) => a.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((a) => a.innerText.trim());
    return { cut, scrolls: nav.scrollWidth > nav.clientWidth + 1 };
  });
}

/** A person for the elder journey: a bound relative with a phone whom no other test uses. */
export function chooseElder(h) {
  const { persons, bindings, used, TODAY } = h;
  const holders = new Set(bindings.map((b) => b.holder_psn_no));
  const b = bindings.find((b) => {
    const r = persons.get(b.relative_psn_no);
    return r && r.phone && r.psn_insu_stas === "1" && r.insutype === "390" && !holders.has(r.psn_no) &&
      !used.has(r.psn_no) && b.begin_date <= TODAY && (!b.end_date || b.end_date >= TODAY);
  });
  if (!b) throw new Error("no bound resident relative in the demo registry");
  const p = persons.get(b.relative_psn_no);
  used.add(p.psn_no);
  return p;
}

export async function careTests(h, page, elder) {
  const { test, assert, eq, checkPage, BASE } = h;

  await test("citizens' menu: only citizens' things, and it fits a phone", async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.goto(`${BASE}/?lang=zh`);
    const hrefs = await page.locator(".mainnav a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    eq(hrefs.join(" "), "/ /h5 /nearby /guide", "the citizens' menu");
    assert(await page.locator("main a[href='/terminal'], main a[href='/console']").count() === 0, "no staff site on the home page");
    const fit = await menuFits(page);
    eq(fit.cut.length, 0, `menu entries cut off at 360 px: ${fit.cut}`);
    assert(!fit.scrolls, "the menu does not scroll sideways");
  });

  await test("关怀模式: larger type, every target at least 44 px, the four things on the home page", async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.goto(`${BASE}/?lang=zh`);
    await page.locator("[data-testid=care-switch]").click();
    eq(await page.getAttribute("html", "class"), "care", "elder mode on");
    const tiles = await page.locator("[data-testid=care-home] a").allInnerTexts();
    eq(tiles.length, 4, `the four things: ${tiles}`);
    const base = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    assert(base >= 22, `body text ${base} px`);
    await checkPage(page, "care-home");
    const fit = await menuFits(page);
    eq(fit.cut.length, 0, `menu entries cut off in elder mode: ${fit.cut}`);
    const pages = ["/", "/guide", "/guide/shandong-zibo", "/nearby?city=370300", "/h5/signin", "/no-such-page"];
    for (const p of pages) {
      await page.goto(`${BASE}${p}`);
      eq(await page.getAttribute("html", "class"), "care", `${p}: remembered on this device`);
      const small = await smallTargets(page, 44);
      eq(small.length, 0, `${p}: targets under 44 px: ${small.join(", ")}`);
    }
    await signIn(h, page, elder);
    for (const p of ["/h5", "/h5/family", "/h5/records", "/h5/messages"]) {
      await page.goto(`${BASE}${p}`);
      const small = await smallTargets(page, 44);
      eq(small.length, 0, `${p}: targets under 44 px: ${small.join(", ")}`);
      await checkPage(page, `care${p.replaceAll("/", "-")}`);
    }
    // Today (standard view) the breadcrumbs are text-sized; elder mode is what makes them big.
    await page.locator("[data-testid=care-switch]").click();
    assert(await page.getAttribute("html", "class") !== "care", "elder mode off again");
  });
}

/** The switch is a plain link: it works with JavaScript turned off. */
export async function careNoJsTests(h, page) {
  const { test, eq, BASE } = h;
  await test("关怀模式 without JavaScript", async () => {
    await page.goto(`${BASE}/guide?lang=zh`);
    await page.locator("[data-testid=care-switch]").click();
    eq(new URL(page.url()).pathname, "/guide", "back on the same page");
    eq(await page.getAttribute("html", "class"), "care", "elder mode on");
    await page.locator("[data-testid=care-switch]").click();
    eq(await page.getAttribute("html", "class"), null, "and off");
  });
}

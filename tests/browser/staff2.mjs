// Browser tests of the pages of the people at the window (issue 15): the till a cashier uses
// and the console's start page a bureau clerk sees. Called by run.mjs in the staff context;
// also writes the screenshots the README shows (docs/screenshots, DOCS_SHOTS_DIR).

import { mkdirSync } from "node:fs";
import { join } from "node:path";

const DOCS_SHOTS = process.env.DOCS_SHOTS_DIR ?? "docs/screenshots";

async function docShots(page, name, sizes = [["phone", 360, 780], ["desktop", 1280, 900]]) {
  mkdirSync(DOCS_SHOTS, { recursive: true });
  const vp = page.viewportSize();
  for (const [label, w, hgt] of sizes) {
    await page.setViewportSize({ width: w, height: hgt });
    await page.screenshot({ path: join(DOCS_SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  if (vp) await page.setViewportSize(vp);
}

/** An insured person of the pharmacy's city whom no other test touched. */
function someone(h, prefix) {
  for (const p of h.persons.values()) {
    if (p.psn_insu_stas === "1" && p.admdvs.startsWith(prefix) && p.public_medical !== "1" && !h.used.has(p.psn_no)) {
      h.used.add(p.psn_no);
      return p;
    }
  }
  throw new Error(`no free person in ${prefix}`);
}

export async function staffTests(h, page, pharmacy) {
  const { test, assert, eq, text, checkPage, BASE, STAFF_PASSWORD } = h;

  await test("till: a pharmacy offers no CT or stent; cart and receipt side by side on a desktop", async () => {
    const till = await h.tillPage(pharmacy);
    await till.setViewportSize({ width: 1280, height: 900 });
    await till.goto(`${BASE}/terminal?lang=zh`);
    const person = someone(h, pharmacy.admdvs.slice(0, 4));
    await till.fill("#f-cert-no", person.certno);
    await till.getByRole("button", { name: "读卡" }).click();
    const options = await till.locator("#f-item option").allInnerTexts();
    assert(!options.some((o) => o.includes("CT") || o.includes("支架") || o.includes("磁共振")), `pharmacy items: ${options.join(" | ")}`);
    assert(options.some((o) => o.includes("阿莫西林")), "drugs are offered");
    await till.selectOption("#f-item", "XJ01CAA040E001010104327");
    await till.fill("#f-count", "1");
    await till.fill("#f-price", "6.50");
    await till.getByRole("button", { name: "添加" }).click();
    await till.getByRole("button", { name: /^结算/ }).click();
    const cart = await till.locator("[data-testid=cart]").boundingBox();
    const receipt = await till.locator("[data-testid=receipt]").boundingBox();
    assert(cart && receipt, "cart and receipt both shown");
    assert(receipt.x >= cart.x + cart.width - 1, `receipt beside the cart: cart ${JSON.stringify(cart)}, receipt ${JSON.stringify(receipt)}`);
    assert(receipt.y < cart.y + cart.height, "side by side, not below");
    await checkPage(till, "terminal-receipt-staff");
    await docShots(till, "terminal-receipt");
    await till.setViewportSize({ width: 360, height: 780 });
  });

  await test("console start page: the work waiting, people by name", async () => {
    await page.goto(`${BASE}/console?lang=zh`);
    // As the admin, who sees every kind of pending work and the audit log.
    if (!(await page.locator("#f-user").count())) await page.getByRole("button", { name: "退出登录" }).click();
    await page.goto(`${BASE}/console?lang=zh`);
    await page.fill("#f-user", "admin");
    await page.fill("#f-pass", STAFF_PASSWORD);
    await page.getByRole("button", { name: "登录", exact: true }).click();
    // A binding suspended with a reason shows on the start page: why, when and by whom.
    const count = new Map();
    for (const x of h.bindings) count.set(x.holder_psn_no, (count.get(x.holder_psn_no) ?? 0) + 1);
    const b = h.bindings.find((x) =>
      count.get(x.holder_psn_no) === 1 && (x.status ?? "active") === "active" &&
      x.begin_date <= h.TODAY && (!x.end_date || x.end_date >= h.TODAY) &&
      !h.used.has(x.holder_psn_no) && !h.used.has(x.relative_psn_no));
    assert(b, "a binding to suspend");
    h.used.add(b.holder_psn_no); h.used.add(b.relative_psn_no);
    await page.goto(`${BASE}/console/persons/${b.holder_psn_no}?lang=zh`);
    const li = page.locator("[data-testid=as-holder] li").first();
    await li.locator("details.fold > summary").click();
    await li.locator("input[name=reason]").fill("核查亲属关系材料");
    await li.getByRole("button", { name: "暂停共济" }).click();
    await page.goto(`${BASE}/console?lang=zh`);
    const pending = await text(page, "[data-testid=pending-suspended]");
    assert(pending.includes("核查亲属关系材料") && pending.includes("经办人员 admin"), `pending work: ${pending.slice(0, 200)}`);
    const body = await page.locator("main").innerText();
    assert(!/staff:|operator:/.test(body), "no actor codes on the start page");
    await checkPage(page, "console-home");
    await docShots(page, "console-home");
    await page.goto(`${BASE}/console/audit?lang=zh`);
    const audit = await page.locator("[data-testid=audit]").innerText();
    assert(!/\bstaff_[a-z_]+\b/.test(audit), "action codes are not the labels");
    eq(await page.locator("#f-action").evaluate((e) => e.tagName), "SELECT", "a Chinese action filter");
    await checkPage(page, "console-audit-zh", { shot: false });
  });
}

// Phone-size screenshots of the main journeys, for docs/screenshots/ (linked from README.md),
// so that a newcomer sees the product before running it. Run by scripts/screenshots.sh, which
// starts the demo the way scripts/browser-test.sh does and passes the same variables
// (BASE_URL, DATA_DIR, CHROMIUM, TODAY) plus SHOTS_DIR=docs/screenshots.
// Prints one line per picture and closes with "N passed, N failed".

import { readFileSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { signIn } from "./people.mjs";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const DATA = process.env.DATA_DIR ?? "";
const SHOTS = process.env.SHOTS_DIR ?? "docs/screenshots";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TODAY = process.env.TODAY ?? "2026-03-10";

function csv(name) {
  const lines = readFileSync(join(DATA, name), "utf8").trim().split("\n");
  const head = lines[0].split(",");
  return lines.slice(1).map((l) => {
    const cells = l.split(",");
    return Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ""]));
  });
}
const persons = new Map(csv("persons.csv").map((p) => [p.psn_no, p]));
const bindings = csv("bindings.csv");
const live = (b) => b.begin_date <= TODAY && (!b.end_date || b.end_date >= TODAY);
const ok = (p) => p && p.phone && p.psn_insu_stas === "1";
// A holder with a bound relative, in Zibo (face step on binding), and that relative.
const pair = bindings.find((b) => live(b) && ok(persons.get(b.holder_psn_no)) && ok(persons.get(b.relative_psn_no)) &&
  persons.get(b.holder_psn_no).insutype === "310" && persons.get(b.relative_psn_no).insutype === "390" &&
  b.holder_psn_no.startsWith("3703"));
if (!pair) throw new Error("no Zibo holder with a resident relative in the demo registry");
const holder = persons.get(pair.holder_psn_no);
const relative = persons.get(pair.relative_psn_no);

let passed = 0;
let failed = 0;
const h = {
  BASE,
  assert: (c, m) => { if (!c) throw new Error(m); },
  eq: (a, b, m) => { if (a !== b) throw new Error(`${m}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); },
  text: async (page, sel) => (await page.locator(sel).first().innerText()).trim(),
  checkPage: async () => {},
  maskName: (n) => { const c = [...n]; return c.length <= 1 ? "*" : c.length === 2 ? `${c[0]}*` : c[0] + "*".repeat(c.length - 2) + c[c.length - 1]; },
};

mkdirSync(SHOTS, { recursive: true });
/** The page from its top, at most three screens long (a long guide would be unreadable). */
async function shot(page, name, path) {
  try {
    if (path) await page.goto(`${BASE}${path}`);
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.screenshot({
      path: join(SHOTS, `${name}.png`),
      fullPage: true,
      clip: { x: 0, y: 0, width: 360, height: Math.min(height, 780 * 3) },
    });
    console.log(`ok   ${name}.png`);
    passed += 1;
  } catch (e) {
    console.log(`FAIL ${name}: ${e}`);
    failed += 1;
  }
}

async function session(fn) {
  const dir = mkdtempSync(join(tmpdir(), "gongji-shots-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    viewport: { width: 360, height: 780 },
    deviceScaleFactor: 1,
    locale: "zh-CN",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  try {
    await fn(page);
  } catch (e) {
    console.log(`FAIL ${e}`);
    failed += 1;
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// A purchase at a Zibo pharmacy's till (the demo's open till), so that the records and
// messages below have a payment with mutual aid to show. Best effort: a till that changed
// shape leaves the pictures without it, and says so.
const institutions = csv("institutions.csv");
const pharmacy = institutions.find((i) => i.admdvs.startsWith("3703") && i.fixmedins_type === "2" && i.mutual_aid === "1");
await session(async (page) => {
  try {
    await page.goto(`${BASE}/terminal?lang=zh`);
    await page.fill("#f-inst-code", pharmacy.fixmedins_code);
    await page.locator("button[value=inst]").click();
    await page.fill("#f-cert-no", relative.certno);
    await page.getByRole("button", { name: "读卡" }).click();
    await page.selectOption("#f-item", { index: 1 });
    await page.getByRole("button", { name: "添加" }).click();
    await page.getByRole("button", { name: "预结算" }).click();
    await page.getByRole("button", { name: /^结算/ }).click();
    console.log(`     a purchase at ${pharmacy.fixmedins_name} for the relative`);
  } catch (e) {
    console.log(`     (no purchase at the till: ${String(e).split("\n")[0]})`);
  }
});

// Anyone: home, policy guide, institutions nearby, the 404 page.
await session(async (page) => {
  await shot(page, "01-home", "/?lang=zh");
  await shot(page, "02-guide", "/guide/shandong-zibo");
  await shot(page, "03-nearby", "/nearby?city=370300");
  await shot(page, "04-not-found", "/no-such-page");
});

// The holder: sign in, account, family, the bind journey's first step, records, messages.
await session(async (page) => {
  await page.goto(`${BASE}/h5/signin?lang=zh`);
  await page.fill("#f-phone", holder.phone);
  await page.getByRole("button", { name: "获取验证码" }).click();
  await shot(page, "05-signin-code");
  await page.fill("#f-code", await h.text(page, "[data-testid=demo-code]"));
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await shot(page, "06-account", "/h5");
  await shot(page, "07-family", "/h5/family");
  await page.locator("[data-testid=as-holder] a").first().click();
  await shot(page, "08-binding");
  await shot(page, "09-bind-details", "/h5/family/bind");
  await shot(page, "10-records", "/h5/records");
  await shot(page, "11-messages", "/h5/messages");
  // 亲情账户: the holder lets a family member show his e-voucher at the window.
  await page.goto(`${BASE}/h5/proxy`);
  await page.locator("details.fold > summary").click();
  await page.fill("#f-name", relative.psn_name);
  await page.fill("#f-certno", relative.certno);
  await page.check("input[name=consent]");
  await page.getByRole("button", { name: "确认授权", exact: true }).click();
  await shot(page, "15-proxy");
});

// The relative, a resident: what she sees, in 关怀模式.
await session(async (page) => {
  await page.goto(`${BASE}/care?on=1&next=%2F`);
  await shot(page, "12-care-home");
  await signIn(h, page, relative);
  await shot(page, "13-care-resident-account", "/h5");
  await shot(page, "14-care-resident-records", "/h5/records");
  await shot(page, "16-care-proxy-code", "/h5/proxy");
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

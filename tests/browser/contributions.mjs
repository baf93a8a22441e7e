// Browser tests of issue 13's journeys, on the second server (its clock inside Yuncheng's
// collection window for benefit year 2027): a resident pays his own premium in the H5 and
// finds it in his payment records; a collecting agent registered in the console sends a batch
// and the console shows its daily statement; the collection report shows both, with its chart
// and a CSV that says what the page says; a registration and a correction sent in the H5 are
// decided in the console by a clerk, and the person reads the result and the reason. Every
// step is screenshotted at 360×780 and 1280×900. Called by run.mjs with a citizen page and a
// staff page, each in a browser context of its own.

import { readFileSync } from "node:fs";
import { signIn } from "./people.mjs";
import { readable } from "./words.mjs";

const YEAR = 2027;
const AGENT_ID = "1408001";
const AGENT_NAME = "运城市盐湖区解州镇村委会";

/** Yuncheng's 2027 categories as the policy file states them: name → amount in fen. */
function categories2027(h) {
  const toml = readFileSync(new URL("../../policies/shanxi-yuncheng.toml", import.meta.url), "utf8");
  const block = toml.split("[[contribution.years]]").find((b) => new RegExp(`^\\s*year = ${YEAR}\\b`).test(b));
  h.assert(block, `a ${YEAR} block in policies/shanxi-yuncheng.toml`);
  const out = new Map();
  const re = /\[\[contribution\.years\.categories\]\]\s*code = "(\w+)"\s*name_zh = "([^"]+)"\s*amount = "([\d.]+)"/g;
  for (const m of block.matchAll(re)) out.set(m[2], h.fen(m[3]));
  h.assert(out.size >= 6, `${YEAR} categories: ${[...out.keys()]}`);
  return out;
}

/** Insured Yuncheng residents with a phone whom no other test touched and no binding names. */
function yunchengResidents(h, n) {
  const bound = new Set(h.bindings.flatMap((b) => [b.holder_psn_no, b.relative_psn_no]));
  const out = [];
  for (const p of h.persons.values()) {
    if (out.length === n) break;
    if (p.admdvs.startsWith("1408") && p.insutype === "390" && p.psn_insu_stas === "1" && p.public_medical !== "1" &&
        p.phone && !h.used.has(p.psn_no) && !bound.has(p.psn_no)) {
      h.used.add(p.psn_no);
      out.push(p);
    }
  }
  h.assert(out.length === n, `${n} free Yuncheng residents in the demo registry`);
  return out;
}

/** A valid ID number (GB 11643 check digit) no one in the registry has: a Yuncheng baby. */
function newbornCertno(h) {
  const taken = new Set([...h.persons.values()].map((p) => p.certno));
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  for (let seq = 101 + Math.floor(Math.random() * 700); ; seq += 2) {
    const body = `14080220260801${seq}`.slice(0, 17);
    const sum = [...body].reduce((s, d, i) => s + Number(d) * w[i], 0);
    const c = body + "10X98765432"[sum % 11];
    if (!taken.has(c)) return c;
  }
}

export async function contributionsTests(h, page, staff) {
  const { test, assert, eq, fen, yuan, text, checkPage, maskName, BASE2, TODAY2, STAFF_PASSWORD } = h;
  const table = categories2027(h);
  const [me, a1, a2] = yunchengResidents(h, 3);
  const signInStaff = async (user) => {
    await staff.goto(`${BASE2}/console?lang=zh`);
    if (await staff.locator("#f-user").count()) {
      await staff.fill("#f-user", user);
      await staff.fill("#f-pass", STAFF_PASSWORD);
      await staff.getByRole("button", { name: "登录", exact: true }).click();
    }
    assert((await text(staff, "[data-testid=who]")).includes(user), `signed in as ${user}`);
  };
  // What each journey paid, for the report.
  let selfPaid = 0;
  let agentPaid = 0;

  await test("H5: a Yuncheng resident pays his own 2027 premium at the registry's category and amount, and sees it in his records", async () => {
    await signIn(h, page, me, BASE2);
    await page.goto(`${BASE2}/h5/premium/self?lang=zh`);
    eq(await text(page, "h1"), "缴纳我的居民医保", "heading");
    const option = page.locator("[data-testid=self-options] li").filter({ hasText: `${YEAR}` });
    eq(await option.count(), 1, `one ${YEAR} option`);
    // Shown, not chosen: nothing on the page lets him pick a category or an amount.
    eq(await page.locator("main input[type=radio], main select, main input[name=amount], main input[name=category]").count(), 0, "no category or amount to choose");
    const shown = await option.innerText();
    const category = [...table.keys()].find((name) => shown.includes(name));
    assert(category, `a category of the policy named: ${shown}`);
    assert(shown.includes(`${yuan(table.get(category))} 元`), `the policy's amount for ${category}: ${shown}`);
    await checkPage(page, "contrib-self-options");

    await option.locator("[data-testid=self-go]").click();
    assert(await page.locator("[data-testid=self-confirm]").isVisible(), "the confirmation step");
    // Only the confirmation: no second 去缴费 below it to tap by mistake.
    eq(await page.locator("[data-testid=self-go]").count(), 0, "the list is put away while confirming");
    assert((await text(page, "[data-testid=confirm-payee]")).includes(maskName(me.psn_name)), "payee is himself");
    eq(await text(page, "[data-testid=confirm-year]"), `${YEAR}`, "year");
    eq(await text(page, "[data-testid=confirm-category]"), category, "category");
    eq(fen(await text(page, "[data-testid=confirm-amount]")), table.get(category), "amount to the fen");
    await checkPage(page, "contrib-self-confirm");

    await page.getByRole("button", { name: "确认并支付" }).click();
    const paid = page.locator("[data-testid=self-paid]");
    assert(await paid.isVisible(), "the receipt");
    assert((await paid.innerText()).includes("缴费成功"), "says it succeeded");
    eq(await text(page, "[data-testid=paid-year]"), `${YEAR}`, "receipt year");
    selfPaid = fen(await text(page, "[data-testid=paid-amount]"));
    eq(selfPaid, table.get(category), "receipt amount");
    assert((await paid.innerText()).includes("演示渠道"), "the channel, by its name");
    await checkPage(page, "contrib-self-receipt");
    // From the receipt straight to where the payment is listed.
    eq(await page.getAttribute("[data-testid=self-paid-records]", "href"), "/h5/payments", "the receipt leads to the payment records");
    // Paid now: the year offers nothing more to pay.
    await page.goto(`${BASE2}/h5/premium/self?lang=zh`);
    eq(await page.locator("[data-testid=self-options] li").filter({ hasText: `${YEAR}` }).locator("[data-testid=self-go]").count(), 0, "nothing left to pay");
    assert((await page.locator("[data-testid=self-options] li").filter({ hasText: `${YEAR}` }).innerText()).includes("已缴"), "marked paid");

    await page.goto(`${BASE2}/h5/payments?lang=zh`);
    const row = page.locator(`[data-testid=payments] li[data-year="${YEAR}"]`);
    eq(await row.count(), 1, "the payment listed once");
    const line = await row.innerText();
    eq(fen(await row.locator("strong").innerText()), selfPaid, "amount in the records");
    assert(line.includes("缴费渠道：演示渠道"), `channel: ${line}`);
    assert(line.includes("缴费人：本人"), `who paid: ${line}`);
    assert(line.includes(`${TODAY2} `), `when: ${line}`);
    await checkPage(page, "contrib-payments");
  });

  await test("English H5 pages name channels in English", async () => {
    await page.goto(`${BASE2}/h5/payments?lang=en`);
    const line = await page.locator(`[data-testid=payments] li[data-year="${YEAR}"]`).innerText();
    assert(line.includes("Channel: demo channel"), `channel in English: ${line}`);
    assert(!/演示|渠道|本人/.test(line), `no Chinese channel or payer: ${line}`);
    await checkPage(page, "contrib-payments-en");
    await page.goto(`${BASE2}/h5/payments?lang=zh`);
  });

  await test("console 代收点 (admin): an agent registered, its batch paid, its daily statement balanced to the fen", async () => {
    await signInStaff("admin");
    await staff.goto(`${BASE2}/console/agents?lang=zh`);
    eq(await text(staff, "h1"), "代收点", "heading");
    await checkPage(staff, "contrib-agents-empty");
    await staff.fill("#a-id", AGENT_ID);
    await staff.fill("#a-name", AGENT_NAME);
    await staff.fill("#a-admdvs", "140800");
    await staff.selectOption("#a-kind", "village_committee");
    await staff.locator("[data-testid=agent-add]").click();
    const token = (await text(staff, "[data-testid=agent-token] code")).trim();
    assert(/^agt_/.test(token), "the agent's token shown once");
    await checkPage(staff, "contrib-agents-added");

    // The agent's own system sends two rows; each is paid at the registry's amount.
    const csv = `certno\n${a1.certno}\n${a2.certno}\n`;
    const r = await fetch(`${BASE2}/api/v1/agent/payments?batch=B${Date.now()}&year=${YEAR}`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" }, body: csv,
    });
    const body = await r.text();
    eq(r.status, 200, `batch: ${body.slice(0, 200)}`);
    assert(/"paid":\s*2\b/.test(body) && /"refused":\s*0\b/.test(body), `both rows paid: ${body.slice(0, 300)}`);
    const amounts = [...body.matchAll(/"amount":\s*"([\d.]+)"/g)].map((m) => fen(m[1]));
    eq(amounts.length, 2, "an amount per row");
    for (const [i, a] of amounts.entries()) {
      assert([...table.values()].includes(a), `row ${i + 1} at a category's amount: ${yuan(a)}`);
    }
    agentPaid = amounts[0] + amounts[1];

    await staff.goto(`${BASE2}/console/agents?lang=zh`);
    const tr = staff.locator(`[data-testid=agents] tr[data-agent="${AGENT_ID}"]`);
    eq(await tr.count(), 1, "the agent listed");
    const cells = await tr.locator("td").allInnerTexts();
    eq(cells[0].trim(), AGENT_NAME, "its name");
    eq(cells[1].trim(), "运城市", "its region, by name");
    eq(cells[2].trim(), "村委会", "its kind, in words");
    eq(cells[3].trim(), "2", "rows today");
    eq(fen(cells[4]), agentPaid, "today's total to the fen");
    eq(cells[5].trim(), "相符", "the statement balances with the postings");
    await checkPage(staff, "contrib-agents-statement");
    // The statement the agent reads says the same.
    const st = await (await fetch(`${BASE2}/api/v1/agent/statement?date=${TODAY2}`, { headers: { authorization: `Bearer ${token}` } })).text();
    assert(/"rows":\s*2\b/.test(st) && st.includes(`"total":"${yuan(agentPaid)}"`) && /"balanced":\s*true/.test(st), `statement: ${st}`);
  });

  await test("console 缴费进度 (admin): chart, rows by channel and by agent, CSV equal to the page", async () => {
    await staff.goto(`${BASE2}/console/collection?lang=zh&year=${YEAR}&by=channel`);
    eq(await text(staff, "h1"), "居民医保缴费进度", "heading");
    const chart = staff.locator("[data-testid=chart-collection]");
    assert(await chart.isVisible(), "the chart");
    assert((await chart.locator("rect.bar").count()) >= 4, "two bars (this year, last year) per channel");
    const row = async (group) => {
      const tr = staff.locator(`[data-testid=collection-rows] tr[data-group="${group}"]`);
      eq(await tr.count(), 1, `a row for ${group}`);
      return [await tr.locator("th").innerText(), ...(await tr.locator("td").allInnerTexts())].map((s) => s.trim());
    };
    const agentRow = await row("agent");
    eq(agentRow[0], "代收点", "the agent channel by its name");
    eq(agentRow[1], "2", "persons through agents");
    eq(fen(agentRow[2]), agentPaid, "amount through agents");
    const devRow = await row("dev");
    eq(devRow[1], "1", "persons through the demo provider");
    eq(fen(devRow[2]), selfPaid, "amount through the demo provider");
    const total = await row("total");
    assert(fen(total[2]) >= agentPaid + selfPaid, "the total holds both");
    await checkPage(staff, "contrib-collection-channel");

    const href = await staff.getAttribute("[data-testid=csv]", "href");
    const r = await staff.request.get(`${BASE2}${href}`);
    eq(r.status(), 200, "CSV");
    assert((r.headers()["content-disposition"] ?? "").includes("attachment"), "a download");
    const lines = (await r.text()).replace(/^\uFEFF/, "").trim().split(/\r?\n/);
    eq(lines[0], `缴费渠道代码,缴费渠道,${YEAR}年缴费人数,${YEAR}年缴费金额（元）,${YEAR - 1}年缴费人数,${YEAR - 1}年缴费金额（元）,人数增减,金额增减（元）`, "CSV header");
    const csvAgent = lines.find((l) => l.startsWith("agent,"))?.split(",");
    assert(csvAgent, "the agent channel in the CSV");
    eq(fen(csvAgent[3]), fen(agentRow[2]), "the CSV's amount = the page's");
    eq(csvAgent[2], agentRow[1], "the CSV's persons = the page's");

    // The English page names the channels in English.
    await staff.goto(`${BASE2}/console/collection?lang=en&year=${YEAR}&by=channel`);
    const enTable = await staff.locator("[data-testid=collection-rows]").innerText();
    eq((await staff.locator(`[data-testid=collection-rows] tr[data-group="agent"] th`).innerText()).trim(), "collecting agent", "the agent channel in English");
    eq((await staff.locator(`[data-testid=collection-rows] tr[data-group="dev"] th`).innerText()).trim(), "demo channel", "the demo channel in English");
    assert(!/[\u4e00-\u9fff]/.test(enTable), `no Chinese in the English table: ${enTable.slice(0, 300)}`);
    await checkPage(staff, "contrib-collection-en");

    await staff.goto(`${BASE2}/console/collection?lang=zh&year=${YEAR}&by=agent`);
    const byAgent = await row(AGENT_ID);
    eq(byAgent[0], AGENT_NAME, "the agent by its name");
    eq(fen(byAgent[2]), agentPaid, "what the agent collected");
    await checkPage(staff, "contrib-collection-agent");
  });

  await test("H5 requests decided in the console by a clerk: the person reads approval, and the reason of a refusal", async () => {
    const newName = "赵更正";
    const babyName = "王小宝";
    const babyCert = newbornCertno(h);
    const reason = "新姓名与户籍信息不一致，请带户口本到医保窗口办理";
    await page.goto(`${BASE2}/h5/requests?lang=zh`);
    eq(await text(page, "h1"), "登记与信息更正", "heading");
    await checkPage(page, "contrib-requests-empty");
    await page.fill("#f-name", newName);
    await page.getByRole("button", { name: "提交更正申请" }).click();
    assert((await text(page, "[data-testid=notice]")).includes("申请已提交"), "correction sent");
    await page.fill("#f-rname", babyName);
    await page.fill("#f-certno", babyCert);
    await page.getByRole("button", { name: "提交登记申请" }).click();
    assert((await text(page, "[data-testid=notice]")).includes("申请已提交"), "registration sent");
    const mine = page.locator("[data-testid=review-mine] li");
    eq(await mine.count(), 2, "both requests listed");
    for (const t of await mine.allInnerTexts()) assert(t.includes("待审核"), `waiting: ${t}`);
    await checkPage(page, "contrib-requests-sent");

    await staff.getByRole("button", { name: /退出登录/ }).click();
    await signInStaff("clerk");
    await staff.goto(`${BASE2}/console/reviews?lang=zh`);
    const reg = staff.locator("[data-testid=reviews-waiting] li").filter({ hasText: babyCert });
    const cor = staff.locator("[data-testid=reviews-waiting] li").filter({ hasText: newName });
    eq(await reg.count(), 1, "the registration waits, its ID number whole for staff");
    eq(await cor.count(), 1, "the correction waits");
    assert((await reg.innerText()).includes(babyName) && (await reg.innerText()).includes("新参保登记"), "what is asked, in words");
    await checkPage(staff, "contrib-reviews-waiting");
    await reg.getByRole("button", { name: "通过", exact: true }).click();
    assert((await text(staff, "[data-testid=notice]")).includes("已通过"), "approved");
    await cor.locator("input[name=reason]").fill(reason);
    await cor.getByRole("button", { name: "不通过", exact: true }).click();
    assert((await text(staff, "[data-testid=notice]")).includes("已退回"), "rejected");
    eq(await staff.locator("[data-testid=reviews-waiting] li").filter({ hasText: newName }).count(), 0, "decided, no longer waiting");
    await checkPage(staff, "contrib-reviews-decided");
    // The registered baby is in the registry now.
    await staff.goto(`${BASE2}/console/persons?q=${babyCert}&lang=zh`);
    assert((await staff.locator("[data-testid=persons]").innerText()).includes(maskName(babyName)), "the new resident found in the console");

    await page.goto(`${BASE2}/h5/requests?lang=zh`);
    const regMine = page.locator("[data-testid=review-mine] li").filter({ hasText: "新参保登记" });
    const corMine = page.locator("[data-testid=review-mine] li").filter({ hasText: "信息更正" });
    assert((await regMine.innerText()).includes("已通过"), `registration approved: ${await regMine.innerText()}`);
    assert((await corMine.innerText()).includes("未通过"), "correction not approved");
    eq(await corMine.locator("[data-testid=review-reason]").innerText(), `未通过的原因：${reason}`, "the reason, as the clerk wrote it");
    await checkPage(page, "contrib-requests-decided");
    // The holder's cross-province page, for the phone-size look.
    await page.goto(`${BASE2}/h5/quotas?lang=zh`);
    assert((await text(page, "h1")).length > 0, "the quotas page opens");
    await checkPage(page, "contrib-h5-quotas");
  });

  await test("console pages of issue 13 in Chinese: no English words (staff terms allowed)", async () => {
    const found = [];
    for (const p of ["/console/collection", `/console/collection?year=${YEAR}&by=agent`, "/console/agents", "/console/reviews", "/console/bubao", "/console/transfers", "/console/lists"]) {
      await staff.goto(`${BASE2}${p}${p.includes("?") ? "&" : "?"}lang=zh`);
      eq(await staff.getAttribute("html", "lang"), "zh-CN", `${p} in Chinese`);
      const english = (await readable(staff, "[data-testid=who], [data-testid=agent-token] code"))
        .match(/[A-Za-z]{2,}/g)?.filter((w) => w !== "CSV");
      if (english?.length) found.push(`${p}: English ${JSON.stringify([...new Set(english)].slice(0, 8))}`);
      await checkPage(staff, `contrib-console${p.replace(/[/?=&]+/g, "-")}`);
    }
    assert(found.length === 0, `${found.length} problems:\n${found.join("\n")}`);
  });

  await test("console 缴费人群名单 (clerk): a department's list uploaded as a file, every row's result to the fen", async () => {
    const [a, b] = yunchengResidents(h, 2);
    h.assert(table.has("低保对象"), "低保对象 in the 2027 table");
    const cheapest = [...table.entries()].reduce((m, e) => (e[1] < m[1] ? e : m));
    const nobody = newbornCertno(h);
    const csv = "身份证号码,人群类别,来源部门,名单日期\n" +
      `${a.certno},低保对象,运城市民政局,2026-09-15\n` +
      `${b.certno},${cheapest[0]},运城市民政局,2026-09-15\n` +
      `${nobody},低保对象,运城市民政局,2026-09-15\n` +
      `${a.certno},低保对象,运城市民政局,2026年9月15日\n`;
    await staff.goto(`${BASE2}/console/lists?lang=zh`);
    if (!(await staff.locator("#l-file").count())) await signInStaff("clerk");
    await staff.goto(`${BASE2}/console/lists?lang=zh`);
    eq(await text(staff, "h1"), "导入缴费人群名单", "heading");
    eq(await staff.locator("#l-year").inputValue(), String(YEAR), "the year being collected is chosen");
    await checkPage(staff, "contrib-lists-form");
    await staff.setInputFiles("#l-file", { name: "民政局低保名单.csv", mimeType: "text/csv", buffer: Buffer.from(csv, "utf8") });
    await staff.getByRole("button", { name: "导入名单" }).click();
    eq(await text(staff, "[data-testid=list-counts]"), `${YEAR}年度：共读到 4 行，新标识 2 行，原已在名单中 0 行，未通过 2 行。`, "the summary");
    eq(await text(staff, "[data-testid=list-sources]"), "名单来源：运城市民政局（名单日期 2026-09-15）", "the source");
    const rows = staff.locator("[data-testid=list-rows] tbody tr");
    eq(JSON.stringify(await rows.evaluateAll((trs) => trs.map((t) => t.dataset.line))), JSON.stringify(["4", "5", "2", "3"]), "refused rows first");
    const cells = async (line) => (await staff.locator(`[data-testid=list-rows] tr[data-line="${line}"] > *`).allInnerTexts()).map((s) => s.trim());
    const ra = await cells(2);
    eq(ra[2], maskName(a.psn_name), "the person's name, masked");
    assert(!ra[1].includes(a.certno), "the ID number masked");
    eq(fen(ra[4].split(/\s/)[0]), table.get("低保对象"), "低保对象's amount");
    assert(ra[5].includes("已标识"), `marked: ${ra[5]}`);
    const rb = await cells(3);
    eq(fen(rb[4].split(/\s/)[0]), cheapest[1], `${cheapest[0]}'s amount`);
    assert((await cells(4))[5].includes("查无此参保人员"), "the unknown ID number, in words");
    assert((await cells(5))[5].includes("名单日期"), "the malformed date, in words");
    // checkPage also shoots it at 360 px and fails if anything sticks out sideways.
    await checkPage(staff, "contrib-lists-result");
  });
}

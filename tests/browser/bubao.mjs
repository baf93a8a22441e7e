// Browser tests of 补报 (R-R2) and the premium records (R-R7): the console page that lists and
// runs the retroactive settlement of held-back fund shares, and the H5 page where a person
// sees every premium paid for him. Called by run.mjs in the staff context, after the other
// staff tests (the person's sign-in at the end replaces the staff session).

import { signIn } from "./people.mjs";

/** An insured person with a phone whom no other test touched. */
function someone(h) {
  for (const p of h.persons.values()) {
    if (p.psn_insu_stas === "1" && p.phone && p.public_medical !== "1" && !h.used.has(p.psn_no)) {
      h.used.add(p.psn_no);
      return p;
    }
  }
  throw new Error("no free person");
}

export async function bubaoTests(h, page) {
  const { test, assert, text, checkPage, BASE } = h;

  await test("console 补报: what waits, a run and its results, in plain words", async () => {
    await page.goto(`${BASE}/console/bubao?lang=zh`);
    assert((await text(page, "h1")).includes("补报"), "the 补报 page");
    const tab = page.locator("a[href='/console/bubao']");
    assert((await tab.count()) > 0, "the console's tabs lead to it");
    await checkPage(page, "console-bubao");
    await page.getByRole("button", { name: "立即运行补报" }).click();
    assert(new URL(page.url()).pathname === "/console/bubao", `stays on the page: ${page.url()}`);
    assert((await text(page, "[data-testid=bubao-results] h2")) === "本次运行结果", "the run's results");
    await checkPage(page, "console-bubao-run");
  });

  await test("H5 缴费记录: every premium paid, and the honest note on channel payments", async () => {
    const person = someone(h);
    await signIn(h, page, person);
    await page.goto(`${BASE}/h5/premium?lang=zh`);
    await page.locator("[data-testid=payments-link]").click();
    assert(new URL(page.url()).pathname === "/h5/payments", `the records: ${page.url()}`);
    assert((await text(page, "h1")) === "缴费记录", "heading");
    assert((await text(page, "[data-testid=payments-note]")).includes("不要重复缴费"), "the note");
    const shown = (await page.locator("[data-testid=payments]").count()) + (await page.locator("[data-testid=payments-empty]").count());
    assert(shown === 1, "the list or its empty state");
    await checkPage(page, "h5-payments");
  });
}

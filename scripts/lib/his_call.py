#!/usr/bin/env python3
"""A pharmacy's POS selling medicine through the national institution interface (2102).

Used by scripts/two-provinces.sh: the relative, insured in Shanxi, buys one catalog item at a
Shanxi pharmacy with mutual aid, paying from the quota a Shandong holder granted. Standard
library only, so the script needs nothing beyond python3. Amounts stay decimal text end to end
(the interface wants exact JSON numbers; a float would turn 80.00 into 80.0 or worse).

    his_call.py BASE PHARMACY PERSON ITEM AMOUNT BEGNTIME PAID_FILE
      PHARMACY  code|name|admdvs|paasid|token      PERSON  psn_no|certno|insutype|admdvs
      ITEM      med_list_codg|med_list_name         PAID_FILE gets acct_mulaid_pay (yuan)

Exits 1 unless the answer's infcode is 0 and the quota (acct_mulaid_pay) paid something.
"""
import hashlib
import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal

API = "/fsi/api/rsfComIfsService/callService"


def num(text):
    """A JSON number written exactly as `text` (see render)."""
    return "\u0001NUM" + text


def render(envelope):
    return re.sub(r'"\\u0001NUM([-0-9.]+)"', r"\1", json.dumps(envelope, ensure_ascii=False))


def call(base, inst, infno, insuplc, body_input):
    code, name, admdvs, paasid, token = inst
    stamp = time.strftime("%Y%m%d%H%M%S")
    body = render({
        "infno": infno,
        "msgid": f"{code}{stamp}{secrets.randbelow(10000):04d}",
        "mdtrtarea_admvs": admdvs,
        "insuplc_admdvs": insuplc,
        "recer_sys_code": "GJDEMO",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0001",
        "opter_name": "药房收银员",
        "inf_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "fixmedins_code": code,
        "fixmedins_name": name,
        "input": body_input,
    })
    # The gateway checks the timestamp against the real clock (not serve's --now) and refuses
    # one from before the process started; the signature is sha256(ts + token + nonce + ts).
    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    signature = hashlib.sha256((ts + token + nonce + ts).encode()).hexdigest()
    request = urllib.request.Request(base + API, data=body.encode(), method="POST", headers={
        "content-type": "application/json",
        "x-tif-paasid": paasid,
        "x-tif-timestamp": ts,
        "x-tif-nonce": nonce,
        "x-tif-signature": signature,
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as refused:
        text = refused.read().decode()
        return {"infcode": None, "err_msg": f"HTTP {refused.code} {text[:300]}"}, text
    return json.loads(text, parse_float=Decimal, parse_int=Decimal), text


def main():
    base, pharmacy, person, item, amount, begntime, paid_file = sys.argv[1:8]
    inst = pharmacy.split("|")
    psn_no, certno, insutype, insuplc = person.split("|")
    item_code, item_name = item.split("|")
    druginfo = {
        "psn_no": psn_no,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": certno,
        "begntime": begntime,
        "medfee_sumamt": num(amount),
        "insutype": insutype,
        # 2: the patient's own account first, then mutual aid, explicitly.
        "acct_used_flag": "2",
        "med_type": "41",
        "invono": "INV-DEMO-0001",
    }
    detail = [{
        "feedetl_sn": "1", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": begntime,
        "med_list_codg": item_code, "medins_list_codg": "H-" + item_code,
        "det_item_fee_sumamt": num(amount), "cnt": num("1"), "pric": num(amount),
        "bilg_dept_codg": "A03", "bilg_dept_name": "内科", "bilg_dr_codg": "D001",
        "bilg_dr_name": "医生乙", "hosp_appr_flag": "1",
    }]
    answer, text = call(base, inst, "2102", insuplc, {"druginfo": druginfo, "drugdetail": detail})
    if answer.get("infcode") != 0:
        print(f"  2102 结算失败 / settlement refused: {answer.get('err_msg') or text[:300]}")
        return 1
    s = answer["output"]["setlinfo"]
    print(f"  {inst[1]}（{inst[0]}）售出 {item_name} 1件，共 {s['medfee_sumamt']} 元 / sold for {s['medfee_sumamt']}")
    print(f"  统筹基金 / funds: {s['fund_pay_sumamt']}   个人账户 / accounts: {s['acct_pay']}"
          f"（其中亲情额度 / from the quota: {s['acct_mulaid_pay']}）   现金 / cash: {s['psn_cash_pay']}")
    print(f"  本人账户余额 / own balance after: {s['balc']}   结算号 / setl_id: {s['setl_id']}")
    with open(paid_file, "w") as out:
        out.write(f"{s['acct_mulaid_pay']:.2f}")
    if s["acct_mulaid_pay"] <= 0:
        print("  亲情额度未支付 / the quota paid nothing")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

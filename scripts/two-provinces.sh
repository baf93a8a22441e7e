#!/usr/bin/env bash
# Two provinces on loopback (issue 14): Shandong (37) and Shanxi (14), each a `gongji serve`
# with its own demo database (`gongji demo --no-serve`), its own SM2 key pair
# (`gongji province keygen`) and a config naming the other as its peer. A clerk at
# Shandong's window, through the REST API, binds a Shandong holder to a relative insured in
# Shanxi and grants a quota of 300 yuan; the relative buys medicine for 80 yuan at a Shanxi
# pharmacy with mutual aid through the national institution interface (2102, signed x-tif-*
# headers, scripts/lib/his_call.py) and the quota pays; the clerk lowers the quota by 50 and
# ends the binding. The script prints the balances on both sides after each step and exits 0
# only if the purchase was settled with the quota paying and `gongji province check` finds
# every fen (R-N3).
#
#   scripts/two-provinces.sh            # builds the debug binary if needed
#   GONGJI=target/release/gongji scripts/two-provinces.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The tools this script drives the journey with; a fresh machine may lack them.
missing=()
for tool in sqlite3 jq curl python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} (apt-get)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

GONGJI="${GONGJI:-}"
if [ -z "$GONGJI" ]; then
    cargo build -q -p gongji-cli
    GONGJI="${CARGO_TARGET_DIR:-target}/debug/gongji"
fi
NOW="2026-03-10 09:00:00"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

say() { printf '\n== %s\n' "$*"; }

say "两个省份的演示数据库与SM2密钥 / demo databases and SM2 keys"
for p in 37 14; do
    mkdir -p "$WORK/$p"
    "$GONGJI" demo --no-serve --db "$WORK/$p/gongji.db" >/dev/null
    "$GONGJI" province keygen --key "$WORK/$p/province.key" | tail -1 >"$WORK/$p/public.key"
    "$GONGJI" staff add --db "$WORK/$p/gongji.db" --username window --role clerk \
        --password window-pass-123 >/dev/null
    eval "PORT_$p=$(free_port)"
done
for pair in "37 14" "14 37"; do
    set -- $pair
    own=$1 peer=$2
    own_port="PORT_$own" peer_port="PORT_$peer"
    cat >"$WORK/$own/gongji.toml" <<EOF
[http]
listen = "127.0.0.1:${!own_port}"

[province]
code = "$own"
key_file = "province.key"

[[peers]]
code = "$peer"
url = "http://127.0.0.1:${!peer_port}"
public_key = "$(cat "$WORK/$peer/public.key")"
EOF
done

# A Shandong employee with money and no binding; a Shanxi resident with no binding.
HOLDER=$(sqlite3 "$WORK/37/gongji.db" "SELECT p.psn_no FROM persons p JOIN accounts a ON a.account_key = 'psn:' || p.psn_no
    WHERE p.admdvs LIKE '37%' AND p.insutype = '310' AND p.psn_insu_stas = '1' AND a.balance_fen >= 100000
    AND p.psn_no NOT IN (SELECT holder_psn_no FROM bindings) AND p.psn_no NOT IN (SELECT relative_psn_no FROM bindings)
    ORDER BY p.psn_no LIMIT 1")
IFS='|' read -r RELATIVE RELATIVE_CERTNO RELATIVE_NAME RELATIVE_INSUTYPE RELATIVE_ADMDVS < <(sqlite3 "$WORK/14/gongji.db" "SELECT psn_no, certno, psn_name, insutype, admdvs FROM persons
    WHERE admdvs LIKE '14%' AND insutype = '390' AND psn_insu_stas = '1'
    AND psn_no NOT IN (SELECT relative_psn_no FROM bindings) ORDER BY psn_no LIMIT 1")
# A Shanxi pharmacy with mutual aid (in the relative's city if there is one), its gateway
# credentials, and a class A medicine with no price cap or self-pay share.
PHARMACY=$(sqlite3 "$WORK/14/gongji.db" "SELECT fixmedins_code || '|' || fixmedins_name || '|' || admdvs || '|' || paasid || '|' || token
    FROM institutions WHERE admdvs LIKE '14%' AND fixmedins_type = '2' AND mutual_aid = 1
    ORDER BY admdvs = '$RELATIVE_ADMDVS' DESC, fixmedins_code LIMIT 1")
MEDICINE=$(sqlite3 "$WORK/14/gongji.db" "SELECT med_list_codg || '|' || med_list_name FROM catalog
    WHERE chrgitm_lv = '01' AND pric_uplmt_fen IS NULL AND selfpay_prop_bp = 0 ORDER BY med_list_codg LIMIT 1")
echo "户主 / holder (37): $HOLDER   家人 / relative (14): $RELATIVE"

say "启动两个省份 / starting both provinces"
for p in 37 14; do
    RUST_LOG=info "$GONGJI" serve --config "$WORK/$p/gongji.toml" --db "$WORK/$p/gongji.db" \
        --now "$NOW" >"$WORK/$p/serve.log" 2>&1 &
    PIDS+=($!)
done
for p in 37 14; do
    port="PORT_$p"
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:${!port}/healthz" >/dev/null && break
        sleep 0.1
    done
done
A="http://127.0.0.1:$PORT_37/api/v1"
B="http://127.0.0.1:$PORT_14/api/v1"
token() {
    curl -sf -X POST "$1/staff/session" -H 'content-type: application/json' \
        -d '{"username":"window","password":"window-pass-123"}' | jq -r .token
}
TA=$(token "$A")
TB=$(token "$B")
post() { # base token path body
    curl -s -X POST "$1$3" -H "authorization: Bearer $2" -H 'content-type: application/json' -d "$4"
}
get() { curl -sf "$1$3" -H "authorization: Bearer $2"; }

settle() {
    for _ in $(seq 1 300); do
        local a b
        a=$(get "$A" "$TA" /staff/quota-transfers | jq '.transfers | length')
        b=$(get "$B" "$TB" /staff/quota-transfers | jq '.transfers | length')
        [ "$a" = 0 ] && [ "$b" = 0 ] && return 0
        sleep 0.1
    done
    echo "在途步骤30秒后仍未完成 / steps still in flight after 30 s" >&2
    return 1
}

balances() {
    local holder quota
    holder=$(sqlite3 "$WORK/37/gongji.db" "SELECT (balance_fen / 100) || '.' || printf('%02d', balance_fen % 100) FROM accounts WHERE account_key = 'psn:$HOLDER'")
    quota=$(get "$B" "$TB" "/staff/persons/$RELATIVE/quotas" | jq -r '.quotas[0].amount // "0.00"')
    out=$(get "$A" "$TA" "/staff/persons/$HOLDER/quotas" | jq -r '.quotas[0] | "\(.amount) (\(.status))"')
    printf '  山东 户主账户 / holder account: %s   划出未回 / out: %s\n' "$holder" "$out"
    printf '  山西 家人额度 / quota in Shanxi: %s\n' "$quota"
}

say "跨省绑定 / binding across provinces"
post "$A" "$TA" "/staff/persons/$HOLDER/quotas" \
    "{\"province\":\"14\",\"relative_certno\":\"$RELATIVE_CERTNO\",\"relative_name\":\"$RELATIVE_NAME\",\"relationship\":\"10\",\"begin\":\"2026-03-10\"}" |
    jq -r '.message_zh // .'
balances

say "划拨额度300元 / granting 300.00"
post "$A" "$TA" "/staff/persons/$HOLDER/quotas/14/$RELATIVE/grant" '{"amount":"300.00"}' | jq -r '.message_zh // .'
settle
balances

say "家人在山西药店购药80元，额度支付 / the relative buys medicine for 80.00 in Shanxi"
QUOTA_BEFORE=$(get "$B" "$TB" "/staff/persons/$RELATIVE/quotas" | jq -r '.quotas[0].amount')
python3 scripts/lib/his_call.py "http://127.0.0.1:$PORT_14" "$PHARMACY" \
    "$RELATIVE|$RELATIVE_CERTNO|$RELATIVE_INSUTYPE|$RELATIVE_ADMDVS" "$MEDICINE" 80.00 "$NOW" "$WORK/paid"
QUOTA_AFTER=$(get "$B" "$TB" "/staff/persons/$RELATIVE/quotas" | jq -r '.quotas[0].amount')
fen() { local y=${1/./}; echo $((10#$y)); }
if [ $(($(fen "$QUOTA_BEFORE") - $(fen "$QUOTA_AFTER"))) -ne "$(fen "$(cat "$WORK/paid")")" ]; then
    echo "额度减少 $QUOTA_BEFORE → $QUOTA_AFTER，与应答的亲情额度支付 $(cat "$WORK/paid") 不符 / the quota did not fall by what the answer says it paid" >&2
    exit 1
fi
balances

say "减少额度50元 / lowering by 50.00"
post "$A" "$TA" "/staff/persons/$HOLDER/quotas/14/$RELATIVE/lower" '{"amount":"50.00"}' | jq -r '.message_zh // .'
settle
balances

say "解除绑定，余额退回 / ending the binding, the rest comes back"
post "$A" "$TA" "/staff/persons/$HOLDER/quotas/14/$RELATIVE/end" '{}' | jq -r '.message_zh // .'
settle
balances

say "跨省守恒核对 / conservation across both provinces"
"$GONGJI" province check --config "$WORK/37/gongji.toml"

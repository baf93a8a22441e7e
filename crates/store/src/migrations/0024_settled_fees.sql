-- The fee lines each settlement paid, as they were when it paid them (issue 12): insert
-- only, and chained with the settlement's journal entry. fee_details is the visit's working
-- list: 2204 and 2205 change it until settlement, and a cancel releases the lines it paid.
CREATE TABLE settled_fees (
    setl_id         TEXT NOT NULL,
    feedetl_sn      TEXT NOT NULL,
    mdtrt_id        TEXT NOT NULL,
    chrg_bchno      TEXT NOT NULL,
    med_list_codg   TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    count_e4        BIGINT NOT NULL,
    price_fen       BIGINT NOT NULL,
    PRIMARY KEY (setl_id, feedetl_sn)
);

INSERT INTO settled_fees (setl_id, feedetl_sn, mdtrt_id, chrg_bchno, med_list_codg, amount_fen,
    count_e4, price_fen)
SELECT setl_id, feedetl_sn, mdtrt_id, chrg_bchno, med_list_codg, amount_fen, count_e4, price_fen
FROM fee_details WHERE setl_id IS NOT NULL;

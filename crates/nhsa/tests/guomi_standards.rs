//! The 国密 primitives the app envelope uses, against the standards' own examples:
//! GB/T 32905 (SM3), GB/T 32907 (SM4) and GB/T 32918.2 (SM2 signature, the example on the
//! recommended curve, user id `1234567812345678`, message `message digest`).

use gongji_nhsa::open_envelope::{
    signing_key_from_hex, verifying_key_from_hex, verifying_key_hex, USER_ID,
};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::Signature;
use sm3::{Digest, Sm3};
use sm4::cipher::{Array, BlockCipherEncrypt, KeyInit};
use sm4::Sm4;

fn sm3_hex(bytes: &[u8]) -> String {
    hex::encode(Sm3::digest(bytes))
}

#[test]
fn sm3_gives_the_standards_digests() {
    // GB/T 32905-2016, A.1 and A.2.
    assert_eq!(
        sm3_hex(b"abc"),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    assert_eq!(
        sm3_hex("abcd".repeat(16).as_bytes()),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
}

const SM4_KEY: &str = "0123456789abcdeffedcba9876543210";

#[test]
fn sm4_gives_the_standards_ciphertext() {
    // GB/T 32907-2016, A.1: one block, key = plaintext. (A.2, the same block encrypted
    // 1,000,000 times, takes about 8 s in a debug build: left out.)
    let key: [u8; 16] = hex::decode(SM4_KEY).expect("hex").try_into().expect("16");
    let cipher = Sm4::new(&Array::from(key));
    let mut block = Array::from(key);
    cipher.encrypt_block(&mut block);
    assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
}

// GB/T 32918.2-2016 (GM/T 0003.5-2012, A.2): the example on the recommended curve.
const D: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
const XA: &str = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020";
const YA: &str = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
const E: &str = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640";
const R: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
const S: &str = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";
const MESSAGE: &[u8] = b"message digest";
// The recommended curve's a, b and base point, hashed into Z.
const A: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
const B: &str = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
const XG: &str = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
const YG: &str = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";

fn public_hex() -> String {
    format!("04{XA}{YA}")
}

#[test]
fn sm2_the_standards_private_key_gives_its_public_key() {
    let key = signing_key_from_hex(D).expect("d");
    assert_eq!(
        verifying_key_hex(key.verifying_key()),
        public_hex().to_lowercase()
    );
}

#[test]
fn sm2_the_standards_message_hash_is_sm3_of_z_and_the_message() {
    let mut z = Sm3::new();
    z.update(((USER_ID.len() * 8) as u16).to_be_bytes());
    z.update(USER_ID.as_bytes());
    for part in [A, B, XG, YG, XA, YA] {
        z.update(hex::decode(part).expect("hex"));
    }
    let mut e = Sm3::new();
    e.update(z.finalize());
    e.update(MESSAGE);
    assert_eq!(hex::encode_upper(e.finalize()), E);
}

#[test]
fn sm2_the_standards_signature_verifies_with_its_public_key() {
    // The crate signs with its own k (RFC 6979), not the standard's fixed k: the published
    // (r, s) is verified instead of reproduced.
    let public = verifying_key_from_hex(&public_hex()).expect("public key");
    let rs = hex::decode(format!("{R}{S}")).expect("hex");
    let signature = Signature::from_slice(&rs).expect("r, s");
    assert!(public.verify(MESSAGE, &signature).is_ok());
    assert!(public.verify(b"message digesT", &signature).is_err());
    let mut other = rs.clone();
    other[63] ^= 1;
    let other = Signature::from_slice(&other).expect("r, s'");
    assert!(public.verify(MESSAGE, &other).is_err());
}

#[test]
fn sm2_a_signature_by_the_standards_key_verifies() {
    let key = signing_key_from_hex(D).expect("d");
    let signature: Signature = key.sign(MESSAGE);
    let public = verifying_key_from_hex(&public_hex()).expect("public key");
    assert!(public.verify(MESSAGE, &signature).is_ok());
}

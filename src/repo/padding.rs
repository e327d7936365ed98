//! Size padding of sealed blobs (`create --padding`): the stored length of a blob otherwise
//! tells its compressed length to anyone who can list the store, and with a small final
//! pack that is the compressed size of one changed file. A padded body is
//! `0x03 || u32 LE n || body (n bytes, one of the unpadded forms) || zeros`, the whole of it
//! rounded up to a size class, inside the authenticated ciphertext: readers verify the tag
//! as for any sealed object, then strip it. FORMAT.md, "Padding".

use anyhow::{bail, Result};

/// The encoding byte of a padded body.
pub const PADDED: u8 = 3;
/// `PADDED` and the inner length.
pub const HEADER_LEN: usize = 5;
/// Every padded body is at least this long: below it, the class would tell small files'
/// sizes nearly to the byte.
pub const MIN_CLASS: usize = 512;

/// The size class of a body of `len` bytes: Padmé (Nikitin et al., "Reducing metadata
/// leakage from encrypted files and communication with PURBs", 2019), which keeps the top
/// `floor(log2(E)) + 1` bits of a length with `E` = `floor(log2(len))` and zeroes the rest:
/// at most 11 % overhead, and O(log log len) bits leaked instead of O(log len).
pub fn class(len: usize) -> usize {
    if len <= MIN_CLASS {
        return MIN_CLASS;
    }
    let e = usize::BITS - 1 - len.leading_zeros(); // floor(log2(len))
    let s = u32::BITS - e.leading_zeros(); // floor(log2(e)) + 1
    let mask = (1usize << (e - s)) - 1;
    (len + mask) & !mask
}

/// Room for the header, to be filled by `finish` once the body after it is written.
pub fn start(out: &mut Vec<u8>) {
    out.extend_from_slice(&[PADDED, 0, 0, 0, 0]);
}

/// `out[at..]` is `start`'s header and a body: records the body's length and pads the
/// whole to its class.
pub fn finish(out: &mut Vec<u8>, at: usize) {
    let body = out.len() - at - HEADER_LEN;
    let n = u32::try_from(body).expect("a sealed blob is under 4 GiB");
    out[at + 1..at + HEADER_LEN].copy_from_slice(&n.to_le_bytes());
    out.resize(at + class(out.len() - at), 0);
}

/// A decrypted body without its padding (unchanged when it was not padded). The input was
/// authenticated, but a store's objects are still never trusted to be well formed.
pub fn strip(buf: &mut Vec<u8>) -> Result<()> {
    if buf.first() != Some(&PADDED) {
        return Ok(());
    }
    if buf.len() < HEADER_LEN {
        bail!("padded body is truncated");
    }
    let n = u32::from_le_bytes(buf[1..HEADER_LEN].try_into().expect("4 bytes")) as usize;
    if n == 0 || n > buf.len() - HEADER_LEN {
        bail!("padded body names {n} bytes of {}", buf.len() - HEADER_LEN);
    }
    if buf[HEADER_LEN] == PADDED {
        bail!("padding inside padding");
    }
    buf.copy_within(HEADER_LEN..HEADER_LEN + n, 0);
    buf.truncate(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_the_length_with_little_overhead() {
        let mut last = 0;
        for len in (1..5_000).chain((5_000..50_000_000).step_by(9_973)) {
            let c = class(len);
            assert!(c >= len && c >= MIN_CLASS, "{len} -> {c}");
            assert!(c >= last, "classes grow with the length");
            last = c;
            if len > MIN_CLASS {
                assert!((c - len) as f64 <= len as f64 * 0.12, "{len} -> {c}");
            }
        }
        assert_eq!(class(513), 544);
        assert_eq!(class(1_000_000), 1_015_808);
    }

    #[test]
    fn classes_are_few() {
        let distinct: std::collections::BTreeSet<usize> = (1..=(1 << 20)).map(class).collect();
        assert!(distinct.len() < 300, "{}", distinct.len());
        assert_eq!(class(100), class(500), "small blobs all look alike");
    }

    #[test]
    fn a_padded_body_strips_back_to_its_body() {
        for body in [vec![0u8, 1, 2], vec![1u8; 700], vec![2u8; 70_000]] {
            let mut out = vec![9u8; 12]; // what comes before the body: the nonce
            start(&mut out);
            out.extend_from_slice(&body);
            finish(&mut out, 12);
            assert_eq!(out.len() - 12, class(body.len() + HEADER_LEN));
            let mut got = out[12..].to_vec();
            strip(&mut got).unwrap();
            assert_eq!(got, body);
        }
        let mut unpadded = vec![1u8, 5, 5];
        strip(&mut unpadded).unwrap();
        assert_eq!(unpadded, [1, 5, 5]);
    }

    #[test]
    fn malformed_padding_is_an_error_not_a_panic() {
        for bad in [
            vec![PADDED],
            vec![PADDED, 0, 0, 0, 0],
            vec![PADDED, 9, 0, 0, 0, 1, 2],
            vec![PADDED, 0xff, 0xff, 0xff, 0xff, 1],
            vec![PADDED, 1, 0, 0, 0, PADDED],
        ] {
            assert!(strip(&mut bad.clone()).is_err(), "{bad:?}");
        }
    }
}

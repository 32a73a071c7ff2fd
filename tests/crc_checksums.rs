//! The CRC checksums of the S3 SDK (aws-smithy-checksums), computed by the probe's stand-in for
//! crc-fast (crates/crc-fast-lite, patched in by Cargo.toml): each algorithm gives the CRC
//! catalogue's check value for "123456789" and the same digest however the input is split, as
//! S3's own `x-amz-checksum-*` headers expect (big-endian, base64).

use aws_smithy_checksums::ChecksumAlgorithm;

/// The digest the SDK computes for `input` given in `pieces`.
fn digest(algorithm: ChecksumAlgorithm, input: &[u8], pieces: usize) -> Vec<u8> {
    let mut c = algorithm.into_impl();
    for chunk in input.chunks(input.len().div_ceil(pieces).max(1)) {
        c.update(chunk);
    }
    c.finalize().to_vec()
}

#[test]
fn crcs_give_the_catalogue_check_values() {
    // CRC-32/ISO-HDLC, CRC-32/ISCSI and CRC-64/NVME check values (reveng's catalogue)
    let cases: [(ChecksumAlgorithm, &[u8]); 3] = [
        (ChecksumAlgorithm::Crc32, &0xCBF4_3926u32.to_be_bytes()),
        (ChecksumAlgorithm::Crc32c, &0xE306_9283u32.to_be_bytes()),
        (
            ChecksumAlgorithm::Crc64Nvme,
            &0xAE8B_1486_0A79_9888u64.to_be_bytes(),
        ),
    ];
    for (algorithm, check) in cases {
        assert_eq!(digest(algorithm, b"123456789", 1), check, "{algorithm:?}");
    }
    // the header S3 compares: x-amz-checksum-crc32, base64 of the big-endian CRC
    let mut c = ChecksumAlgorithm::Crc32.into_impl();
    c.update(b"123456789");
    assert_eq!(c.header_name(), "x-amz-checksum-crc32");
    assert_eq!(c.header_value(), "y/Q5Jg==");
}

#[test]
fn crcs_do_not_depend_on_how_the_body_is_split() {
    let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    for algorithm in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
    ] {
        let whole = digest(algorithm, &body, 1);
        for pieces in [2, 3, 7, 10_000] {
            assert_eq!(digest(algorithm, &body, pieces), whole, "{algorithm:?}");
        }
        // and an empty body is the algorithm's init ^ xorout: 0
        assert!(digest(algorithm, b"", 1).iter().all(|b| *b == 0));
    }
}

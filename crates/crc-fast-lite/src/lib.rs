//! A small stand-in for [crc-fast](https://crates.io/crates/crc-fast), patched in by the probe's
//! `Cargo.toml`: the subset of its API that `aws-smithy-checksums` (the S3 SDK's checksums)
//! calls — [`Digest::new`], [`Digest::update`], [`Digest::finalize`] and [`checksum`] — for the
//! three algorithms it asks for. Each is a reflected CRC computed a byte at a time from a table
//! built at compile time: a few KB instead of crc-fast's SIMD variants (~0.7 MB of the x86_64
//! binary). The probe checksums its own objects with SHA-256; a CRC runs only when S3 answers
//! a GetObject with one, on objects of a few KB, so speed does not matter here.

/// The algorithms `aws-smithy-checksums` uses (crc-fast's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrcAlgorithm {
    /// CRC-32/ISO-HDLC: S3's `CRC32`.
    Crc32IsoHdlc,
    /// CRC-32/ISCSI (Castagnoli): S3's `CRC32C`.
    Crc32Iscsi,
    /// CRC-64/NVME: S3's `CRC64NVME`.
    Crc64Nvme,
}

/// A reflected CRC of width ≤ 64: its table, initial value and final XOR.
#[derive(Debug)]
struct Params {
    table: [u64; 256],
    init: u64,
    xorout: u64,
}

/// The byte table of a reflected CRC with the (reflected) polynomial `poly`.
const fn table(poly: u64) -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ poly } else { c >> 1 };
            bit += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC32_ISO_HDLC: Params = Params {
    table: table(0xEDB8_8320),
    init: 0xFFFF_FFFF,
    xorout: 0xFFFF_FFFF,
};
static CRC32_ISCSI: Params = Params {
    table: table(0x82F6_3B78),
    init: 0xFFFF_FFFF,
    xorout: 0xFFFF_FFFF,
};
static CRC64_NVME: Params = Params {
    table: table(0x9A6C_9329_AC4B_C9B5),
    init: u64::MAX,
    xorout: u64::MAX,
};

fn params(algorithm: CrcAlgorithm) -> &'static Params {
    match algorithm {
        CrcAlgorithm::Crc32IsoHdlc => &CRC32_ISO_HDLC,
        CrcAlgorithm::Crc32Iscsi => &CRC32_ISCSI,
        CrcAlgorithm::Crc64Nvme => &CRC64_NVME,
    }
}

/// A running CRC over bytes given in any number of pieces.
#[derive(Debug, Clone)]
pub struct Digest {
    params: &'static Params,
    state: u64,
    amount: u64,
}

impl Digest {
    pub fn new(algorithm: CrcAlgorithm) -> Self {
        let params = params(algorithm);
        Self {
            params,
            state: params.init,
            amount: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        let t = &self.params.table;
        let mut c = self.state;
        for &b in data {
            c = t[((c ^ u64::from(b)) & 0xFF) as usize] ^ (c >> 8);
        }
        self.state = c;
        self.amount += data.len() as u64;
    }

    /// The CRC of everything given so far (the digest stays usable).
    pub fn finalize(&self) -> u64 {
        self.state ^ self.params.xorout
    }

    /// [`Digest::finalize`], then start over.
    pub fn finalize_reset(&mut self) -> u64 {
        let crc = self.finalize();
        self.reset();
        crc
    }

    pub fn reset(&mut self) {
        self.state = self.params.init;
        self.amount = 0;
    }

    /// How many bytes were given.
    pub fn get_amount(&self) -> u64 {
        self.amount
    }
}

/// The CRC of `buf`.
pub fn checksum(algorithm: CrcAlgorithm, buf: &[u8]) -> u64 {
    let mut d = Digest::new(algorithm);
    d.update(buf);
    d.finalize()
}

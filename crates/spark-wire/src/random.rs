//! Randomness, injected so tests can replay fixed transcripts (golden vectors).

/// A source of random bytes.
pub trait Random {
    /// Fills `buf`.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // The OS source does not fail on supported platforms; continuing without randomness
        // would be worse than stopping.
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}

/// Replays given bytes in order (tests and fuzzing only: no security).
#[derive(Debug, Clone)]
pub struct FixedRandom {
    bytes: Vec<u8>,
    pos: usize,
}

impl FixedRandom {
    /// Replays `bytes`, then zeros.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl Random for FixedRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
    }
}

//! Incremental frame decoding over a caller-fed buffer: "need more bytes", "a message" and
//! "protocol error" are distinct outcomes, and a hostile length cannot make it allocate.

use crate::error::FrameError;
use crate::message::Message;

/// Spark's own limit: frame content must be below 2 GiB.
pub const SPARK_MAX_FRAME: usize = i32::MAX as usize - 1;

/// What the decoder produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole message.
    Message(Message),
    /// Bytes of the out-of-frame body announced by the last `StreamResponse`/`UploadStream`.
    StreamData(Vec<u8>),
}

/// Splits a byte stream into messages.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max_frame: usize,
    body_left: u64,
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `max_frame` bytes (length prefix included).
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_frame: max_frame.min(SPARK_MAX_FRAME),
            body_left: 0,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes the next item needs at most; read no more than this to keep memory
    /// bounded by one frame.
    pub fn wanted(&self) -> usize {
        if self.body_left > 0 {
            return usize::try_from(self.body_left)
                .unwrap_or(usize::MAX)
                .min(1 << 20)
                .saturating_sub(self.buf.len())
                .max(1);
        }
        if self.buf.len() < 8 {
            return 8 - self.buf.len();
        }
        let len = self.declared_len();
        usize::try_from(len)
            .unwrap_or(0)
            .min(self.max_frame)
            .saturating_sub(self.buf.len())
            .max(1)
    }

    fn declared_len(&self) -> i64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.buf[..8]);
        i64::from_be_bytes(a)
    }

    /// The next decoded item, `Ok(None)` if more bytes are needed.
    pub fn decode_next(&mut self) -> Result<Option<Decoded>, FrameError> {
        if self.body_left > 0 {
            if self.buf.is_empty() {
                return Ok(None);
            }
            let n = usize::try_from(self.body_left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            self.body_left -= n as u64;
            let rest = self.buf.split_off(n);
            return Ok(Some(Decoded::StreamData(std::mem::replace(
                &mut self.buf,
                rest,
            ))));
        }
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = self.declared_len();
        if len <= 8 {
            return Err(FrameError::NonPositiveLength(len.saturating_sub(8)));
        }
        if len as u64 > self.max_frame as u64 {
            return Err(FrameError::TooLarge {
                len,
                limit: self.max_frame,
            });
        }
        let len = len as usize;
        if self.buf.len() < len {
            return Ok(None);
        }
        let message = Message::decode(&self.buf[8..len])?;
        self.buf.drain(..len);
        if let Some(n) = message.trailing_body_len() {
            self.body_left = u64::try_from(n).map_err(|_| FrameError::NegativeBody(n))?;
        }
        Ok(Some(Decoded::Message(message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(msgs: &[Message]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            m.encode(&mut out);
        }
        out
    }

    #[test]
    fn decodes_byte_by_byte_and_in_one_piece() {
        let msgs = vec![
            Message::RpcRequest {
                request_id: 1,
                body: vec![7; 1000],
            },
            Message::OneWayMessage {
                body: b"x".to_vec(),
            },
        ];
        let wire = frames(&msgs);
        let mut d = FrameDecoder::new(1 << 20);
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            while let Some(Decoded::Message(m)) = d.decode_next().expect("valid") {
                got.push(m);
            }
        }
        assert_eq!(got, msgs);
        let mut d = FrameDecoder::new(1 << 20);
        d.push(&wire);
        assert_eq!(
            d.decode_next().expect("ok"),
            Some(Decoded::Message(msgs[0].clone()))
        );
        assert_eq!(
            d.decode_next().expect("ok"),
            Some(Decoded::Message(msgs[1].clone()))
        );
        assert_eq!(d.decode_next().expect("ok"), None);
    }

    #[test]
    fn out_of_frame_bodies_are_yielded_as_stream_data() {
        let mut wire = frames(&[Message::StreamResponse {
            stream_id: "s".into(),
            byte_count: 5,
        }]);
        wire.extend_from_slice(b"abcde");
        Message::RpcResponse {
            request_id: 2,
            body: vec![],
        }
        .encode(&mut wire);
        let mut d = FrameDecoder::new(1 << 20);
        let cut = 22 + 3; // the 22-byte StreamResponse frame and 3 body bytes
        d.push(&wire[..cut]);
        assert!(matches!(
            d.decode_next(),
            Ok(Some(Decoded::Message(Message::StreamResponse { .. })))
        ));
        assert_eq!(
            d.decode_next(),
            Ok(Some(Decoded::StreamData(b"abc".to_vec())))
        );
        d.push(&wire[cut..]);
        assert_eq!(
            d.decode_next(),
            Ok(Some(Decoded::StreamData(b"de".to_vec())))
        );
        assert_eq!(
            d.decode_next(),
            Ok(Some(Decoded::Message(Message::RpcResponse {
                request_id: 2,
                body: vec![]
            })))
        );
    }

    #[test]
    fn hostile_lengths_are_refused_before_buffering() {
        let mut d = FrameDecoder::new(1 << 20);
        d.push(&(1i64 << 62).to_be_bytes());
        assert!(matches!(d.decode_next(), Err(FrameError::TooLarge { .. })));
        let mut d = FrameDecoder::new(1 << 20);
        d.push(&8i64.to_be_bytes());
        assert_eq!(d.decode_next(), Err(FrameError::NonPositiveLength(0)));
        let mut d = FrameDecoder::new(1 << 20);
        d.push(&(-5i64).to_be_bytes());
        assert!(d.decode_next().is_err());
        let mut d = FrameDecoder::new(1 << 20);
        d.push(&100i64.to_be_bytes());
        assert_eq!(d.wanted(), 92);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256), max in 0usize..4096) {
            let mut d = FrameDecoder::new(max);
            d.push(&data);
            for _ in 0..64 {
                match d.decode_next() {
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            prop_assert!(d.wanted() >= 1);
        }
    }
}

//! The 13 transport message types (`Message.Type`) and their encoding inside a frame.
//!
//! A frame is `frame_len: i64 (including itself) | type: u8 | header | body-in-frame`.
//! `StreamResponse` and `UploadStream` carry their body *after* the frame; the frame decoder
//! yields those bytes separately.

use crate::codec::{Reader, len_i32, put_bytes, put_i32, put_i64, put_string};
use crate::error::InvalidMessage;

/// A transport message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Fetch one chunk of a registered stream.
    ChunkFetchRequest {
        /// Stream id.
        stream_id: i64,
        /// Chunk index.
        chunk_index: i32,
    },
    /// A fetched chunk.
    ChunkFetchSuccess {
        /// Stream id.
        stream_id: i64,
        /// Chunk index.
        chunk_index: i32,
        /// Chunk bytes.
        body: Vec<u8>,
    },
    /// A chunk fetch failed.
    ChunkFetchFailure {
        /// Stream id.
        stream_id: i64,
        /// Chunk index.
        chunk_index: i32,
        /// Error text.
        error: String,
    },
    /// An RPC (also carries the auth handshake before authentication).
    RpcRequest {
        /// Id echoed by the response.
        request_id: i64,
        /// Payload.
        body: Vec<u8>,
    },
    /// An RPC answer.
    RpcResponse {
        /// Id of the request.
        request_id: i64,
        /// Payload.
        body: Vec<u8>,
    },
    /// An RPC failure (the server's stack trace).
    RpcFailure {
        /// Id of the request.
        request_id: i64,
        /// Error text.
        error: String,
    },
    /// Open a named stream.
    StreamRequest {
        /// Stream id.
        stream_id: String,
    },
    /// A stream follows: `byte_count` raw bytes after the frame.
    StreamResponse {
        /// Stream id.
        stream_id: String,
        /// Bytes following the frame.
        byte_count: i64,
    },
    /// A stream failed.
    StreamFailure {
        /// Stream id.
        stream_id: String,
        /// Error text.
        error: String,
    },
    /// A message without response.
    OneWayMessage {
        /// Payload.
        body: Vec<u8>,
    },
    /// An upload: `body_byte_count` raw bytes follow the frame.
    UploadStream {
        /// Request id.
        request_id: i64,
        /// Metadata.
        meta: Vec<u8>,
        /// Bytes following the frame.
        body_byte_count: i64,
    },
    /// Push-based shuffle metadata request (3.2+).
    MergedBlockMetaRequest {
        /// Request id.
        request_id: i64,
        /// Application id.
        app_id: String,
        /// Shuffle id.
        shuffle_id: i32,
        /// Shuffle merge id.
        shuffle_merge_id: i32,
        /// Reduce id.
        reduce_id: i32,
    },
    /// Push-based shuffle metadata (3.2+).
    MergedBlockMetaSuccess {
        /// Request id.
        request_id: i64,
        /// Number of chunks.
        num_chunks: i32,
        /// Serialized bitmaps.
        body: Vec<u8>,
    },
}

impl Message {
    /// The type byte.
    pub fn type_id(&self) -> u8 {
        match self {
            Message::ChunkFetchRequest { .. } => 0,
            Message::ChunkFetchSuccess { .. } => 1,
            Message::ChunkFetchFailure { .. } => 2,
            Message::RpcRequest { .. } => 3,
            Message::RpcResponse { .. } => 4,
            Message::RpcFailure { .. } => 5,
            Message::StreamRequest { .. } => 6,
            Message::StreamResponse { .. } => 7,
            Message::StreamFailure { .. } => 8,
            Message::OneWayMessage { .. } => 9,
            Message::UploadStream { .. } => 10,
            Message::MergedBlockMetaRequest { .. } => 11,
            Message::MergedBlockMetaSuccess { .. } => 12,
        }
    }

    /// Bytes that follow this frame on the stream (out-of-frame body), if any.
    pub fn trailing_body_len(&self) -> Option<i64> {
        match self {
            Message::StreamResponse { byte_count, .. } => Some(*byte_count),
            Message::UploadStream {
                body_byte_count, ..
            } => Some(*body_byte_count),
            _ => None,
        }
    }

    /// Appends the whole frame (length prefix included). Out-of-frame bodies are the caller's.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        put_i64(out, 0);
        out.push(self.type_id());
        match self {
            Message::ChunkFetchRequest {
                stream_id,
                chunk_index,
            } => {
                put_i64(out, *stream_id);
                put_i32(out, *chunk_index);
            }
            Message::ChunkFetchSuccess {
                stream_id,
                chunk_index,
                body,
            } => {
                put_i64(out, *stream_id);
                put_i32(out, *chunk_index);
                out.extend_from_slice(body);
            }
            Message::ChunkFetchFailure {
                stream_id,
                chunk_index,
                error,
            } => {
                put_i64(out, *stream_id);
                put_i32(out, *chunk_index);
                put_string(out, error);
            }
            Message::RpcRequest { request_id, body }
            | Message::RpcResponse { request_id, body } => {
                put_i64(out, *request_id);
                put_i32(out, len_i32(body.len()));
                out.extend_from_slice(body);
            }
            Message::RpcFailure { request_id, error } => {
                put_i64(out, *request_id);
                put_string(out, error);
            }
            Message::StreamRequest { stream_id } => put_string(out, stream_id),
            Message::StreamResponse {
                stream_id,
                byte_count,
            } => {
                put_string(out, stream_id);
                put_i64(out, *byte_count);
            }
            Message::StreamFailure { stream_id, error } => {
                put_string(out, stream_id);
                put_string(out, error);
            }
            Message::OneWayMessage { body } => {
                put_i32(out, len_i32(body.len()));
                out.extend_from_slice(body);
            }
            Message::UploadStream {
                request_id,
                meta,
                body_byte_count,
            } => {
                put_i64(out, *request_id);
                put_bytes(out, meta);
                put_i64(out, *body_byte_count);
            }
            Message::MergedBlockMetaRequest {
                request_id,
                app_id,
                shuffle_id,
                shuffle_merge_id,
                reduce_id,
            } => {
                put_i64(out, *request_id);
                put_string(out, app_id);
                put_i32(out, *shuffle_id);
                put_i32(out, *shuffle_merge_id);
                put_i32(out, *reduce_id);
            }
            Message::MergedBlockMetaSuccess {
                request_id,
                num_chunks,
                body,
            } => {
                put_i64(out, *request_id);
                put_i32(out, *num_chunks);
                out.extend_from_slice(body);
            }
        }
        let len = (out.len() - start) as i64;
        out[start..start + 8].copy_from_slice(&len.to_be_bytes());
    }

    /// Decodes frame content (type byte, header, in-frame body; without the length prefix).
    pub fn decode(content: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(content);
        let msg = match r.u8()? {
            0 => Message::ChunkFetchRequest {
                stream_id: r.i64()?,
                chunk_index: r.i32()?,
            },
            1 => Message::ChunkFetchSuccess {
                stream_id: r.i64()?,
                chunk_index: r.i32()?,
                body: r.rest().to_vec(),
            },
            2 => Message::ChunkFetchFailure {
                stream_id: r.i64()?,
                chunk_index: r.i32()?,
                error: r.string()?,
            },
            3 => {
                let request_id = r.i64()?;
                let _legacy_len = r.i32()?;
                Message::RpcRequest {
                    request_id,
                    body: r.rest().to_vec(),
                }
            }
            4 => {
                let request_id = r.i64()?;
                let _legacy_len = r.i32()?;
                Message::RpcResponse {
                    request_id,
                    body: r.rest().to_vec(),
                }
            }
            5 => Message::RpcFailure {
                request_id: r.i64()?,
                error: r.string()?,
            },
            6 => Message::StreamRequest {
                stream_id: r.string()?,
            },
            7 => Message::StreamResponse {
                stream_id: r.string()?,
                byte_count: r.i64()?,
            },
            8 => Message::StreamFailure {
                stream_id: r.string()?,
                error: r.string()?,
            },
            9 => {
                let _legacy_len = r.i32()?;
                Message::OneWayMessage {
                    body: r.rest().to_vec(),
                }
            }
            10 => Message::UploadStream {
                request_id: r.i64()?,
                meta: r.bytes()?.to_vec(),
                body_byte_count: r.i64()?,
            },
            11 => Message::MergedBlockMetaRequest {
                request_id: r.i64()?,
                app_id: r.string()?,
                shuffle_id: r.i32()?,
                shuffle_merge_id: r.i32()?,
                reduce_id: r.i32()?,
            },
            12 => Message::MergedBlockMetaSuccess {
                request_id: r.i64()?,
                num_chunks: r.i32()?,
                body: r.rest().to_vec(),
            },
            t => return Err(InvalidMessage::UnknownType(t)),
        };
        r.finish()?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn samples() -> Vec<Message> {
        vec![
            Message::ChunkFetchRequest {
                stream_id: 7,
                chunk_index: 2,
            },
            Message::ChunkFetchSuccess {
                stream_id: 7,
                chunk_index: 2,
                body: vec![1, 2, 3],
            },
            Message::ChunkFetchFailure {
                stream_id: -1,
                chunk_index: 0,
                error: "boom".into(),
            },
            Message::RpcRequest {
                request_id: 42,
                body: b"hello".to_vec(),
            },
            Message::RpcResponse {
                request_id: 42,
                body: vec![],
            },
            Message::RpcFailure {
                request_id: 42,
                error: "java.lang.IllegalArgumentException: Authentication failed.".into(),
            },
            Message::StreamRequest {
                stream_id: "/jars/app.jar".into(),
            },
            Message::StreamResponse {
                stream_id: "s".into(),
                byte_count: 10,
            },
            Message::StreamFailure {
                stream_id: "s".into(),
                error: "gone".into(),
            },
            Message::OneWayMessage { body: vec![9; 100] },
            Message::UploadStream {
                request_id: 1,
                meta: vec![1],
                body_byte_count: 5,
            },
            Message::MergedBlockMetaRequest {
                request_id: 3,
                app_id: "app-1".into(),
                shuffle_id: 1,
                shuffle_merge_id: 0,
                reduce_id: 4,
            },
            Message::MergedBlockMetaSuccess {
                request_id: 3,
                num_chunks: 2,
                body: vec![0; 8],
            },
        ]
    }

    #[test]
    fn every_type_round_trips() {
        for (i, m) in samples().into_iter().enumerate() {
            assert_eq!(usize::from(m.type_id()), i);
            let mut out = Vec::new();
            m.encode(&mut out);
            let len = i64::from_be_bytes(out[..8].try_into().expect("8 bytes"));
            assert_eq!(len as usize, out.len());
            assert_eq!(Message::decode(&out[8..]), Ok(m));
        }
    }

    #[test]
    fn rpc_request_layout_matches_spark() {
        let mut out = Vec::new();
        Message::RpcRequest {
            request_id: 1,
            body: b"ping!".to_vec(),
        }
        .encode(&mut out);
        // 8 (length) + 1 (type) + 8 (request id) + 4 (legacy body length) + 5 = 26 bytes
        assert_eq!(
            out,
            [
                &26i64.to_be_bytes()[..],
                &[3],
                &1i64.to_be_bytes(),
                &5i32.to_be_bytes(),
                b"ping!"
            ]
            .concat()
        );
    }

    #[test]
    fn malformed_content_is_an_error() {
        assert_eq!(Message::decode(&[]), Err(InvalidMessage::Truncated));
        assert_eq!(Message::decode(&[13]), Err(InvalidMessage::UnknownType(13)));
        assert_eq!(
            Message::decode(&[6, 0xff, 0xff, 0xff, 0xff]),
            Err(InvalidMessage::NegativeLength(-1))
        );
        assert_eq!(
            Message::decode(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 9]),
            Err(InvalidMessage::TrailingBytes(1))
        );
    }
}

//! Streaming helpers: verification of digest and size as bytes pass, and
//! (de)compression as `Read` adapters, so that no blob is held whole in memory.

use std::io::{self, Read};

use crate::digest::{Digest, Digester};
use crate::manifest::Compression;

/// Passes bytes through, and fails the read that would end the stream when the
/// content does not hash to `expected` or its length is not `size`. A stream longer
/// than `size` fails as soon as it exceeds it, so a lying server cannot make us read
/// without bound.
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    size: Option<u64>,
    digester: Option<Digester>,
    count: u64,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, size: Option<u64>) -> Self {
        let digester = Some(Digester::new(expected.algorithm()));
        VerifyingReader {
            inner,
            expected,
            size,
            digester,
            count: 0,
        }
    }

    /// Checks only the size: for a destination that verifies the digest itself
    /// (a registry refuses an upload that does not hash to the digest it is
    /// told), so hashing here too would only cost time.
    pub fn size_only(inner: R, expected: Digest, size: u64) -> Self {
        VerifyingReader {
            inner,
            expected,
            size: Some(size),
            digester: None,
            count: 0,
        }
    }

    fn check_end(&mut self) -> io::Result<()> {
        if let Some(size) = self.size
            && self.count != size
        {
            return Err(invalid(format!(
                "blob {}: size mismatch, expected {size} bytes, got {}",
                self.expected, self.count
            )));
        }
        let Some(d) = self.digester.take() else {
            return Ok(());
        };
        if let Some(size) = self.size
            && self.count != size
        {
            return Err(invalid(format!(
                "blob {}: size mismatch, expected {size} bytes, got {}",
                self.expected, self.count
            )));
        }
        let actual = d.finish();
        if actual != self.expected {
            return Err(invalid(format!(
                "blob {}: digest mismatch, content hashes to {actual}",
                self.expected
            )));
        }
        Ok(())
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.check_end()?;
            return Ok(0);
        }
        self.count += n as u64;
        if let Some(size) = self.size
            && self.count > size
        {
            return Err(invalid(format!(
                "blob {}: longer than the {size} bytes announced",
                self.expected
            )));
        }
        if let Some(d) = &mut self.digester {
            d.update(&buf[..n]);
        }
        Ok(n)
    }
}

pub(crate) fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// A stream whose first bytes were read to sniff it, and given back.
pub type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Reads the first bytes of a stream to sniff its compression, then gives them back.
pub fn sniff<R: Read>(mut r: R) -> io::Result<(Compression, Sniffed<R>)> {
    let mut head = vec![0u8; 4];
    let mut got = 0;
    while got < head.len() {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    head.truncate(got);
    let c = Compression::sniff(&head);
    Ok((c, io::Cursor::new(head).chain(r)))
}

/// Decompresses a stream of the given kind. Once the decoder has finished, the rest
/// of the underlying stream is drained so that a verifying reader below sees its end.
pub fn decompress<'a, R: Read + Send + 'a>(r: R, c: Compression) -> Box<dyn Read + Send + 'a> {
    match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(Drain::new(flate2::read::MultiGzDecoder::new(r))),
        Compression::Zstd => match zstd::stream::read::Decoder::new(r) {
            Ok(d) => Box::new(Drain::new(d)),
            Err(e) => Box::new(FailingReader(Some(e))),
        },
    }
}

/// Compresses a stream; `level` None takes the format's default.
pub fn compress<'a, R: Read + Send + 'a>(
    r: R,
    c: Compression,
    level: Option<i32>,
) -> Box<dyn Read + Send + 'a> {
    match c {
        Compression::None => Box::new(r),
        Compression::Gzip => {
            let lvl = level.map_or(flate2::Compression::default(), |l| {
                flate2::Compression::new(l.clamp(0, 9) as u32)
            });
            Box::new(flate2::read::GzEncoder::new(r, lvl))
        }
        Compression::Zstd => {
            match zstd::stream::read::Encoder::new(
                io::BufReader::with_capacity(1 << 16, r),
                level.unwrap_or(3),
            ) {
                Ok(e) => Box::new(e),
                Err(e) => Box::new(FailingReader(Some(e))),
            }
        }
    }
}

struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| io::Error::other("stream failed")))
    }
}

/// A decoder whose underlying stream can be reached.
trait Decoder: Read {
    fn inner(&mut self) -> &mut dyn Read;
}

impl<R: Read> Decoder for flate2::read::MultiGzDecoder<R> {
    fn inner(&mut self) -> &mut dyn Read {
        self.get_mut()
    }
}

impl<R: io::BufRead> Decoder for zstd::stream::read::Decoder<'_, R> {
    fn inner(&mut self) -> &mut dyn Read {
        self.get_mut()
    }
}

/// After the decoder reports its end, reads the inner stream to its end too.
struct Drain<D> {
    decoder: D,
    done: bool,
}

impl<D: Decoder> Drain<D> {
    fn new(decoder: D) -> Self {
        Drain {
            decoder,
            done: false,
        }
    }
}

impl<D: Decoder> Read for Drain<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.decoder.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let mut scratch = [0u8; 8192];
            let mut trailing = 0u64;
            loop {
                let m = self.decoder.inner().read(&mut scratch)?;
                if m == 0 {
                    break;
                }
                trailing += m as u64;
                // Padding after the compressed stream is tolerated, but bounded.
                if trailing > 1 << 20 {
                    return Err(invalid(
                        "more than 1 MiB of data after the compressed stream".into(),
                    ));
                }
            }
            self.done = true;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(v)
    }

    #[test]
    fn verifies_digest_and_size() {
        let data = b"hello world".to_vec();
        let d = Digest::sha256_of(&data);
        assert_eq!(
            read_all(VerifyingReader::new(&data[..], d.clone(), Some(11))).unwrap(),
            data
        );
        let mut bad = data.clone();
        bad[0] ^= 1;
        let e = read_all(VerifyingReader::new(&bad[..], d.clone(), Some(11))).unwrap_err();
        assert!(e.to_string().contains("digest mismatch"), "{e}");
        let e = read_all(VerifyingReader::new(&data[..5], d.clone(), Some(11))).unwrap_err();
        assert!(e.to_string().contains("size mismatch"), "{e}");
        let e = read_all(VerifyingReader::new(&data[..], d, Some(5))).unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
    }

    #[test]
    fn recompresses_round_trip() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in [Compression::Gzip, Compression::Zstd] {
            let z = read_all(compress(&data[..], c, None)).unwrap();
            let (sniffed, r) = sniff(&z[..]).unwrap();
            assert_eq!(sniffed, c);
            assert_eq!(read_all(decompress(r, c)).unwrap(), data);
        }
    }

    #[test]
    fn decompression_reaches_verifier_end() {
        let data = vec![7u8; 100_000];
        let z = read_all(compress(&data[..], Compression::Gzip, None)).unwrap();
        let d = Digest::sha256_of(&z);
        let mut bad = z.clone();
        // Corrupt the gzip trailer's size field: decoding fails or the digest does.
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        assert!(
            read_all(decompress(
                VerifyingReader::new(&bad[..], d.clone(), None),
                Compression::Gzip
            ))
            .is_err()
        );
        assert_eq!(
            read_all(decompress(
                VerifyingReader::new(&z[..], d, None),
                Compression::Gzip
            ))
            .unwrap(),
            data
        );
    }
}

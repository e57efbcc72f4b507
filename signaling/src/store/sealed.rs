//! Invite links at rest. The database never holds a link in clear: it is
//! found by the SHA-256 of its token (256 random bits: the hash cannot be
//! reversed or guessed), and kept for showing in the console sealed with
//! AES-256-GCM under a key in its own file (`link.key`, 0600). A copy of the
//! database alone, such as a backup, opens no session. Losing the key only
//! means the console cannot show existing links again; they keep working,
//! and a new link can be made.

use std::path::Path;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;

use super::StoreError;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "link.key";

const KEY_LEN: usize = 32;

/// What a link's token is found by.
pub fn token_hash(token: &str) -> String {
    let d = digest(&SHA256, token.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The key that seals links for showing them again.
pub struct LinkKey(LessSafeKey);

impl LinkKey {
    /// The key in `data_dir`, made (0600) if there is none yet.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, StoreError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == KEY_LEN => return Self::from_bytes(&bytes),
            Ok(_) => return Err(StoreError::Key("link.key is not a key of 32 bytes")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::DataDir(e)),
        }
        let bytes = random::<KEY_LEN>()?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(StoreError::DataDir)?;
        file.write_all(&bytes).map_err(StoreError::DataDir)?;
        file.sync_all().map_err(StoreError::DataDir)?;
        Self::from_bytes(&bytes)
    }

    /// A key that lives as long as the process (in-memory stores).
    pub fn ephemeral() -> Result<Self, StoreError> {
        Self::from_bytes(&random::<KEY_LEN>()?)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| StoreError::Key("bad key"))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// Seal a token: base64 of nonce and ciphertext.
    pub fn seal(&self, token: &str) -> Result<String, StoreError> {
        let nonce_bytes = random::<NONCE_LEN>()?;
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        let mut data = token.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(nonce, Aad::from(b"haven-link"), &mut data)
            .map_err(|_| StoreError::Key("sealing failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    /// The token in a sealed value, if this key sealed it.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(b"haven-link"), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Key("no randomness"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_links_open_only_with_their_key_and_hashes_do_not_show_the_token() {
        let key = LinkKey::ephemeral().unwrap();
        let other = LinkKey::ephemeral().unwrap();
        let token = "n0t-a-real-token-but-long-enough-xyz";
        let sealed = key.seal(token).unwrap();
        assert!(!sealed.contains(token));
        assert_ne!(sealed, key.seal(token).unwrap(), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).as_deref(), Some(token));
        assert_eq!(other.open(&sealed), None);
        assert_eq!(key.open("garbage"), None);
        let h = token_hash(token);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(token));
        assert_eq!(h, token_hash(token));
    }
}

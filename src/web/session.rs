//! The web chat's session: an id the server makes and signs, in an
//! HttpOnly, SameSite=Strict cookie (`__Host-` and Secure behind HTTPS)
//! that lives as long as the browser session. A browser cannot choose its
//! id; a new one is issued when a token is accepted, and the cookie is
//! cleared when the conversation ends.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::key::Key;

/// The cookie's name over plain HTTP (trying it out, tests).
const PLAIN: &str = "khaosat_sid";
/// Over HTTPS: the browser keeps it to this host and path, Secure only.
const HOST: &str = "__Host-khaosat_sid";

/// Issues and checks session ids.
#[derive(Clone)]
pub struct Sessions {
    key: Key,
    secure: bool,
}

impl Sessions {
    pub fn new(key: Key, secure: bool) -> Self {
        Self { key, secure }
    }

    fn name(&self) -> &'static str {
        if self.secure { HOST } else { PLAIN }
    }

    /// A new session id.
    pub fn issue(&self) -> String {
        crate::hex::random::<16>()
    }

    /// The session id the browser sent, if this server signed it.
    pub fn from_request(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == self.name())
            .map(|(_, v)| v.to_string())?;
        let (id, mac) = value.split_once('.')?;
        let ok = id.len() == 32
            && id.bytes().all(|b| b.is_ascii_hexdigit())
            && subtle::ConstantTimeEq::ct_eq(self.mac(id).as_bytes(), mac.as_bytes()).into();
        ok.then(|| id.to_string())
    }

    /// The `Set-Cookie` that gives the browser this session.
    pub fn cookie(&self, id: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        let value = format!(
            "{}={id}.{}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.name(),
            self.mac(id)
        );
        HeaderValue::from_str(&value).ok()
    }

    /// The `Set-Cookie` that ends the browser's session.
    pub fn clear(&self) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            self.name()
        ))
        .expect("a fixed cookie")
    }

    fn mac(&self, id: &str) -> String {
        self.key.mac("web-session", id)[..32].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn only_ids_this_server_signed_are_taken() {
        let sessions = Sessions::new(Key::generate(), true);
        let id = sessions.issue();
        let cookie = sessions.cookie(&id).unwrap();
        let text = cookie.to_str().unwrap();
        assert!(
            text.starts_with("__Host-khaosat_sid=") && text.contains("; Secure"),
            "{text}"
        );
        assert!(
            !text.contains("Max-Age"),
            "lives as long as the browser session"
        );
        assert_eq!(sessions.from_request(&sent(&cookie)), Some(id.clone()));
        // A made-up id, or one signed under another key, is not a session.
        let chosen = format!("__Host-khaosat_sid={}.{}", "a".repeat(32), "0".repeat(32));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&chosen).unwrap());
        assert_eq!(sessions.from_request(&headers), None);
        let other = Sessions::new(Key::generate(), true);
        assert_eq!(other.from_request(&sent(&cookie)), None);
    }
}

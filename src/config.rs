//! Settings from flags, environment variables and a TOML file, validated into [`Settings`].
//!
//! Precedence: flag, then environment variable, then the file named by `--config`, then the
//! default. Every problem is a one-line message naming the setting.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The configuration flags shared by every command (`serve`, `user add`, ...).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// TOML file with any of: domain, listen, database, dev, signup, org_name,
    /// org_display_name, retry_base_secs, max_body_bytes, log_format, delivery_max_attempts,
    /// delivery_park_after, delivery_max_retry_delay_secs, delivery_max_age_hours,
    /// rate_limit_inbox_per_ip, rate_limit_inbox_per_host, rate_limit_api_per_ip,
    /// trusted_proxies.
    #[arg(long, env = "COCREATE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Public host[:port] of this node, as other servers reach it.
    #[arg(long, env = "COCREATE_DOMAIN", global = true)]
    pub domain: Option<String>,
    /// Address and port to listen on.
    #[arg(long, env = "COCREATE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "COCREATE_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// Development mode: plain http:// and loopback peers (only with a localhost domain).
    #[arg(long, env = "COCREATE_DEV", global = true, action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub dev: bool,
    /// Whether anyone may create an account on the web: open or closed (the default).
    #[arg(long, env = "COCREATE_SIGNUP", global = true)]
    pub signup: Option<String>,
    /// Log lines as text (the default) or as JSON objects, one a line.
    #[arg(long, env = "COCREATE_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
}

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    domain: Option<String>,
    listen: Option<String>,
    database: Option<String>,
    dev: Option<bool>,
    signup: Option<String>,
    org_name: Option<String>,
    org_display_name: Option<String>,
    retry_base_secs: Option<f64>,
    max_body_bytes: Option<usize>,
    log_format: Option<String>,
    delivery_max_attempts: Option<i32>,
    delivery_park_after: Option<i32>,
    delivery_max_retry_delay_secs: Option<f64>,
    delivery_max_age_hours: Option<f64>,
    rate_limit_inbox_per_ip: Option<u32>,
    rate_limit_inbox_per_host: Option<u32>,
    rate_limit_api_per_ip: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
}

/// Validated settings of a node.
#[derive(Debug, Clone)]
pub struct Settings {
    /// host[:port] used in every ActivityPub id.
    pub domain: String,
    pub listen: SocketAddr,
    pub database_url: String,
    pub dev: bool,
    /// Whether people may create their own accounts on the web.
    pub signup: Signup,
    /// The WebFinger name of the node's Organization actor.
    pub org_name: String,
    pub org_display_name: String,
    /// First retry delay of a failed delivery; doubles on each attempt.
    pub retry_base: Duration,
    /// Largest accepted request body (inbox and API).
    pub max_body_bytes: usize,
    /// How log lines are written on standard error.
    pub log_format: LogFormat,
    /// Retries, parking and dead letters of outbound deliveries.
    pub delivery: DeliverySettings,
    /// Requests a minute per client or remote host (see [`crate::limits`]).
    pub rate_limits: RateLimits,
}

/// How the delivery worker retries (see `spec/README.md`, "Delivery and retries"); the first
/// delay is [`Settings::retry_base`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// A delivery whose attempts reach this number becomes a dead letter.
    pub max_attempts: i32,
    /// Retryable failures in a row after which a host is parked (probed with one delivery).
    pub park_after: i32,
    /// Longest wait before a host is tried again (backoff, probes and `Retry-After` alike).
    pub max_retry_delay: Duration,
    /// A delivery still undelivered this long after it was queued becomes a dead letter at
    /// its host's next failure.
    pub max_age: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            max_attempts: 14,
            park_after: 5,
            max_retry_delay: Duration::from_secs(12 * 3600),
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Rate limits, in requests a minute per key: each key has a bucket of that many requests,
/// refilled at that rate, so a burst of up to the whole minute's worth is served at once.
/// `0` turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// POSTs to any inbox from one client address.
    pub inbox_per_ip: u32,
    /// POSTs to any inbox from one remote host (the host of the signature's key, else of the
    /// activity's actor).
    pub inbox_per_host: u32,
    /// API requests and page form posts from one client address.
    pub api_per_ip: u32,
    /// Reverse proxies or load balancers whose `X-Forwarded-For` names the client (addresses
    /// or CIDR ranges); empty: the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            inbox_per_ip: 1200,
            inbox_per_host: 1200,
            api_per_ip: 600,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The delivery keys of the TOML file.
struct DeliveryFile {
    delivery_max_attempts: Option<i32>,
    delivery_park_after: Option<i32>,
    delivery_max_retry_delay_secs: Option<f64>,
    delivery_max_age_hours: Option<f64>,
}

impl DeliverySettings {
    fn from_file(file: DeliveryFile) -> Result<DeliverySettings, String> {
        let d = DeliverySettings::default();
        let count = |name: &str, v: Option<i32>, default: i32| match v {
            None => Ok(default),
            Some(n) if n >= 1 => Ok(n),
            Some(n) => Err(format!("{name}: must be 1 or more, got {n}")),
        };
        let secs = |name: &str, v: Option<f64>, scale: f64, default: Duration| match v {
            None => Ok(default),
            Some(x) if x.is_finite() && x > 0.0 && x * scale < 1e10 => {
                Ok(Duration::from_secs_f64(x * scale))
            }
            Some(x) => Err(format!("{name}: must be a positive number, got {x}")),
        };
        Ok(DeliverySettings {
            max_attempts: count(
                "delivery_max_attempts",
                file.delivery_max_attempts,
                d.max_attempts,
            )?,
            park_after: count(
                "delivery_park_after",
                file.delivery_park_after,
                d.park_after,
            )?,
            max_retry_delay: secs(
                "delivery_max_retry_delay_secs",
                file.delivery_max_retry_delay_secs,
                1.0,
                d.max_retry_delay,
            )?,
            max_age: secs(
                "delivery_max_age_hours",
                file.delivery_max_age_hours,
                3600.0,
                d.max_age,
            )?,
        })
    }
}

/// `trusted_proxies` entries: an address (`10.0.0.2`) or a CIDR range (`10.0.0.0/8`).
fn parse_trusted_proxies(entries: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            let e = e.trim();
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("trusted_proxies: '{e}' is not an IP address or a CIDR range such as 10.0.0.0/8")
                })
        })
        .collect()
}

/// How log lines are written: readable text, or one JSON object a line for log collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Whether web sign-up is open to anyone or closed (accounts are made by staff or the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signup {
    Open,
    #[default]
    Closed,
}

impl Signup {
    pub fn parse(s: &str) -> Option<Signup> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Some(Signup::Open),
            "closed" => Some(Signup::Closed),
            _ => None,
        }
    }
}

pub const DEFAULT_DATABASE: &str = "sqlite://cocreate.db";

impl Settings {
    /// `http` in development mode, `https` otherwise (TLS is a reverse proxy's job).
    pub fn scheme(&self) -> &'static str {
        if self.dev {
            "http"
        } else {
            "https"
        }
    }

    /// Base URL of every id this node mints, e.g. `https://example.com`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.domain)
    }

    pub fn load(args: &ConfigArgs) -> Result<Settings, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("config: cannot read {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| {
                    format!("config: {}: {}", path.display(), one_line(&e.to_string()))
                })?
            }
            None => FileConfig::default(),
        };
        let domain = args
            .domain
            .clone()
            .or(file.domain)
            .unwrap_or_else(|| "localhost:8080".to_string());
        let listen = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let database_url = args
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        let dev = args.dev || file.dev.unwrap_or(false);
        let signup = match args.signup.clone().or(file.signup) {
            None => Signup::default(),
            Some(s) => Signup::parse(&s).ok_or_else(|| {
                format!("signup (--signup / COCREATE_SIGNUP): '{s}' is not open or closed")
            })?,
        };
        let log_format = match args.log_format.clone().or(file.log_format) {
            None => LogFormat::default(),
            Some(s) => LogFormat::parse(&s).ok_or_else(|| {
                format!(
                    "log_format (--log-format / COCREATE_LOG_FORMAT): '{s}' is not json or text"
                )
            })?,
        };
        let defaults = RateLimits::default();
        let rate_limits = RateLimits {
            inbox_per_ip: file
                .rate_limit_inbox_per_ip
                .unwrap_or(defaults.inbox_per_ip),
            inbox_per_host: file
                .rate_limit_inbox_per_host
                .unwrap_or(defaults.inbox_per_host),
            api_per_ip: file.rate_limit_api_per_ip.unwrap_or(defaults.api_per_ip),
            trusted_proxies: parse_trusted_proxies(&file.trusted_proxies.unwrap_or_default())?,
        };
        let org_name = file.org_name.unwrap_or_else(|| "org".to_string());
        let retry_base_secs = file.retry_base_secs.unwrap_or(30.0);
        let delivery = DeliverySettings::from_file(DeliveryFile {
            delivery_max_attempts: file.delivery_max_attempts,
            delivery_park_after: file.delivery_park_after,
            delivery_max_retry_delay_secs: file.delivery_max_retry_delay_secs,
            delivery_max_age_hours: file.delivery_max_age_hours,
        })?;
        let settings = Settings {
            org_display_name: file
                .org_display_name
                .unwrap_or_else(|| domain.split(':').next().unwrap_or(&domain).to_string()),
            domain: validate_domain(&domain)?,
            listen: listen.parse().map_err(|_| {
                format!("listen (--listen / COCREATE_LISTEN): '{listen}' is not an ADDRESS:PORT such as 127.0.0.1:8080")
            })?,
            database_url: {
                crate::store::Backend::from_url(&database_url)
                    .map_err(|e| format!("database (--database / COCREATE_DATABASE_URL): {e}"))?;
                database_url
            },
            dev,
            signup,
            org_name,
            retry_base: if retry_base_secs.is_finite() && retry_base_secs > 0.0 {
                Duration::from_secs_f64(retry_base_secs)
            } else {
                return Err(format!("retry_base_secs: must be a positive number, got {retry_base_secs}"));
            },
            max_body_bytes: file.max_body_bytes.unwrap_or(1024 * 1024),
            log_format,
            delivery,
            rate_limits,
        };
        if settings.dev && !is_loopback_host(&settings.domain) {
            return Err(format!(
                "dev (--dev / COCREATE_DEV): development mode allows plain http and loopback peers, so it is refused for the public domain '{}'; use a localhost domain or turn dev off",
                settings.domain
            ));
        }
        Ok(settings)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn validate_domain(domain: &str) -> Result<String, String> {
    let err = || {
        format!("domain (--domain / COCREATE_DOMAIN): '{domain}' is not a host[:port] such as cocreate.example.com or localhost:8080")
    };
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        || host.starts_with('.')
        || host.ends_with('.')
    {
        return Err(err());
    }
    if let Some(p) = port {
        if p.parse::<u16>().map(|n| n == 0).unwrap_or(true) {
            return Err(err());
        }
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        let suggestion = match port {
            Some(p) => format!("localhost:{p}"),
            None => "localhost".to_string(),
        };
        return Err(format!(
            "domain (--domain / COCREATE_DOMAIN): '{domain}' is an IP address, but ActivityPub ids need a host name (other servers, and this node's own fetches, refuse ids on an IP literal); in development use '{suggestion}' (any name under .localhost reaches 127.0.0.1 too)"
        ));
    }
    Ok(domain.to_ascii_lowercase())
}

/// Loopback names that development mode is allowed for.
pub fn is_loopback_host(domain: &str) -> bool {
    let host = domain.rsplit_once(':').map(|(h, _)| h).unwrap_or(domain);
    host == "localhost" || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(domain: &str, dev: bool) -> ConfigArgs {
        ConfigArgs {
            domain: Some(domain.into()),
            dev,
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_a_local_sqlite_node() {
        let s = Settings::load(&ConfigArgs::default()).unwrap();
        assert_eq!(s.domain, "localhost:8080");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, DEFAULT_DATABASE);
        assert!(!s.dev);
        assert_eq!(s.signup, Signup::Closed);
        assert_eq!(s.base_url(), "https://localhost:8080");
    }

    #[test]
    fn dev_mode_is_refused_for_public_domains() {
        let err = Settings::load(&args("cocreate.example.com", true)).unwrap_err();
        assert!(err.starts_with("dev (--dev"), "{err}");
        assert!(Settings::load(&args("localhost:9000", true)).unwrap().dev);
        assert!(Settings::load(&args("b.localhost:9000", true)).unwrap().dev);
    }

    #[test]
    fn an_ip_address_is_refused_as_a_domain_with_the_name_to_use() {
        for domain in ["127.0.0.1:8081", "10.0.0.5"] {
            let err = Settings::load(&args(domain, true)).unwrap_err();
            assert!(err.contains("is an IP address"), "{err}");
            assert!(err.contains("use 'localhost"), "{err}");
        }
        let err = Settings::load(&args("127.0.0.1:8081", false)).unwrap_err();
        assert!(err.contains("'localhost:8081'"), "{err}");
    }

    #[test]
    fn wrong_values_name_the_setting() {
        let err = Settings::load(&args("bad domain", false)).unwrap_err();
        assert!(err.starts_with("domain"), "{err}");
        let err = Settings::load(&ConfigArgs {
            listen: Some("nowhere".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("listen"), "{err}");
        let err = Settings::load(&ConfigArgs {
            database: Some("mysql://x".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("database"), "{err}");
        let err = Settings::load(&ConfigArgs {
            signup: Some("maybe".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("signup (--signup"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn log_format_is_text_by_default_json_on_request_and_checked() {
        assert_eq!(
            Settings::load(&ConfigArgs::default()).unwrap().log_format,
            LogFormat::Text
        );
        let json = Settings::load(&ConfigArgs {
            log_format: Some("JSON".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json.log_format, LogFormat::Json);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "log_format = \"json\"\n").unwrap();
        let s = Settings::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
        let err = Settings::load(&ConfigArgs {
            log_format: Some("xml".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.starts_with("log_format (--log-format / COCREATE_LOG_FORMAT): 'xml'"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn rate_limits_have_defaults_and_are_read_and_checked_from_the_file() {
        let s = Settings::load(&ConfigArgs::default()).unwrap();
        assert_eq!(s.rate_limits, RateLimits::default());
        assert!(s.rate_limits.trusted_proxies.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "rate_limit_api_per_ip = 0\nrate_limit_inbox_per_host = 50\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let s = Settings::load(&ConfigArgs {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.rate_limits.api_per_ip, 0);
        assert_eq!(s.rate_limits.inbox_per_host, 50);
        assert_eq!(
            s.rate_limits.inbox_per_ip,
            RateLimits::default().inbox_per_ip
        );
        assert_eq!(s.rate_limits.trusted_proxies.len(), 2);
        std::fs::write(&path, "trusted_proxies = [\"proxy.local\"]\n").unwrap();
        let err = Settings::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("trusted_proxies: 'proxy.local'"), "{err}");
    }

    #[test]
    fn delivery_settings_have_defaults_and_are_checked() {
        let s = Settings::load(&ConfigArgs::default()).unwrap();
        assert_eq!(s.delivery, DeliverySettings::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "delivery_max_attempts = 3\ndelivery_park_after = 2\ndelivery_max_retry_delay_secs = 1.5\ndelivery_max_age_hours = 0.5\n",
        )
        .unwrap();
        let s = Settings::load(&ConfigArgs {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.delivery.max_attempts, 3);
        assert_eq!(s.delivery.park_after, 2);
        assert_eq!(s.delivery.max_retry_delay, Duration::from_millis(1500));
        assert_eq!(s.delivery.max_age, Duration::from_secs(1800));
        std::fs::write(&path, "delivery_max_attempts = 0\n").unwrap();
        let err = Settings::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.starts_with("delivery_max_attempts: must be 1 or more"),
            "{err}"
        );
    }

    #[test]
    fn signup_is_read_from_the_flag_or_the_file() {
        let open = Settings::load(&ConfigArgs {
            signup: Some("open".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(open.signup, Signup::Open);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "signup = \"open\"\n").unwrap();
        let s = Settings::load(&ConfigArgs {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.signup, Signup::Open);
        let s = Settings::load(&ConfigArgs {
            config: Some(path),
            signup: Some("closed".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.signup, Signup::Closed);
    }

    #[test]
    fn file_values_apply_below_flags_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "domain = \"localhost:9001\"\nlisten = \"127.0.0.1:9001\"\n",
        )
        .unwrap();
        let s = Settings::load(&ConfigArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:9002".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.domain, "localhost:9001");
        assert_eq!(s.listen.port(), 9002);
        std::fs::write(&path, "domian = \"x\"\n").unwrap();
        let err = Settings::load(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.contains("domian"), "{err}");
    }
}

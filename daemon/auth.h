// Auth: token authentication and role checks for the HTTP API.
//
// Each configured token has a name, a secret and a role; roles are ordered
// read < write < admin, and a token may use every endpoint whose required role is at
// most its own. Credentials are accepted in every form InfluxDB clients send them:
//   Authorization: Bearer <token>             (tidewatch's own form)
//   Authorization: Token <token>              (InfluxDB 2.x clients)
//   Authorization: Token <name>:<token>       (InfluxDB 1.x's Token form)
//   Authorization: Basic base64(<name>:<token>)  (influx CLI -username/-password, Grafana)
//   ?u=<name>&p=<token>                       (InfluxDB 1.x query parameters)
// As in InfluxDB, u/p win over the header when both are present.
//
// Answers, worded as InfluxDB 1.x words them:
//   no credentials            401 "unable to parse authentication credentials"
//   unknown name, wrong token 401 "authorization failed"
//   role too low              403 "\"<name>\" user is not authorized: requires role <role>"
// A 401 carries `WWW-Authenticate: Basic realm="<realm>"` (InfluxDB sends the same
// challenge, with realm "InfluxDB"); the HTTP server adds it.
//
// Each route declares the role it needs when it is registered (HttpServer::Handle):
// /ping, /healthz and /readyz are open (kNone); /write needs write; /metrics needs read
// when auth is on (Prometheus then scrapes with a read token: `authorization:` in its
// scrape config, or basic_auth name/token).
//
// Secrets are compared in constant time (ConstantTimeEquals), and a Bearer token is
// compared with every configured token, so neither timing nor the position of the
// matching token tells an attacker how much of a guess was right.
//
// Thread safety: an Auth is immutable after construction; Check() may be called from
// any number of threads.
#ifndef TIDEWATCH_DAEMON_AUTH_H_
#define TIDEWATCH_DAEMON_AUTH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidewatch::daemon {

// kNone: an open endpoint (/ping, /healthz, /readyz), no credentials needed.
enum class Role : std::uint8_t { kNone = 0, kRead = 1, kWrite = 2, kAdmin = 3 };

// "read" | "write" | "admin"; nullopt for anything else.
std::optional<Role> ParseRole(std::string_view text);
std::string_view RoleName(Role role);

struct AuthToken {
  std::string name;   // shown in logs and 403 messages; the u= parameter
  std::string token;  // the secret
  Role role = Role::kRead;
};

struct AuthOptions {
  // Off (default): every request is allowed, credentials are ignored.
  bool enabled = false;
  std::vector<AuthToken> tokens;
  // The realm of the 401 challenge.
  std::string realm = "tidewatch";
};

// What a request presented; views into the request, valid for the call.
struct Credentials {
  std::string_view authorization;  // the Authorization header, "" if absent
  std::string_view u;              // query parameter u, "" if absent
  std::string_view p;              // query parameter p, "" if absent
};

struct AuthDecision {
  int status = 0;         // 0: allowed; else 401 or 403
  std::string error;      // why not, when status != 0
  std::string principal;  // the token's name when a token was accepted
  bool allowed() const { return status == 0; }
};

class Auth {
 public:
  explicit Auth(AuthOptions options);

  bool enabled() const { return options_.enabled; }
  const std::string& realm() const { return options_.realm; }

  // Whether `credentials` may use an endpoint that requires `required`. Always
  // allowed when auth is disabled or `required` is kNone.
  AuthDecision Check(const Credentials& credentials, Role required) const;

 private:
  // The token `name` with secret `secret`, or nullptr.
  const AuthToken* FindByName(std::string_view name, std::string_view secret) const;
  // The token whose secret is `secret`, or nullptr; compares with every token.
  const AuthToken* FindBySecret(std::string_view secret) const;

  const AuthOptions options_;
};

// True iff a == b, in time that depends only on the lengths of a and b, never on
// where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Decodes standard base64 (with or without padding); nullopt if malformed.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_AUTH_H_

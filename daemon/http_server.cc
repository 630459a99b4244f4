#include "daemon/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <stdexcept>

#include "daemon/internal/http_session.h"
#include "daemon/internal/http_text.h"
#include "daemon/query_json.h"

namespace tidewatch::daemon {

namespace net = boost::asio;

struct HttpServer::Io {
  explicit Io(int threads) : ioc(threads), work(net::make_work_guard(ioc)) {}

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<internal::HttpListener> listener;
};

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool Contains(const std::vector<std::string>& methods, std::string_view method) {
  return std::find(methods.begin(), methods.end(), method) != methods.end();
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

std::string_view Request::param(std::string_view name) const {
  const auto it = query.find(name);
  return it == query.end() ? std::string_view() : std::string_view(it->second);
}

Response Response::Json(int status, std::string body) {
  return Response{status, "application/json", {}, std::move(body)};
}

Response Response::Error(int status, std::string_view message) {
  Response response = Json(status, RenderError(message));
  // InfluxDB repeats the message in a header (cut at 1 KiB), except on 401. A header
  // value cannot hold control characters (line breaks in multi-line errors, raw bytes
  // of bad lines): they become spaces.
  if (status != 401) {
    std::string header(message.substr(0, 1024));
    std::replace_if(
        header.begin(), header.end(),
        [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F; },
        ' ');
    response.headers.emplace_back("X-Influxdb-Error", std::move(header));
  }
  return response;
}

std::uint64_t HttpStatsSnapshot::count(std::string_view path, int status) const {
  for (const Requests& r : requests) {
    if (r.path == path && r.status == status) return r.count;
  }
  return 0;
}

HttpServer::HttpServer(HttpServerOptions options, const Auth* auth)
    : options_(std::move(options)), auth_(auth) {
  counters_.push_back(std::make_unique<StatusCounters>());  // "other"
}

HttpServer::~HttpServer() {
  Stop();
  io_.reset();  // destroys pending handlers (and their sessions) while members live
}

void HttpServer::Handle(std::string path, std::vector<std::string> methods, Role role,
                        Handler handler) {
  AddRoute(Route{std::move(path), std::move(methods), role, {}, false, std::move(handler)});
}

void HttpServer::HandlePrefix(std::string prefix, std::vector<std::string> methods,
                              RoleForMethod role_for_method, Handler handler) {
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() == '/') {
    throw std::logic_error("HttpServer: bad route prefix: " + prefix);
  }
  AddRoute(Route{std::move(prefix), std::move(methods), Role::kNone, std::move(role_for_method),
                 true, std::move(handler)});
}

void HttpServer::AddRoute(Route route) {
  if (started_.load()) throw std::logic_error("HttpServer::Handle after Start");
  if (route_index_.count(route.path) != 0) {
    throw std::logic_error("HttpServer: route twice: " + route.path);
  }
  route_index_.emplace(route.path, routes_.size());
  routes_.push_back(std::move(route));
  counters_.push_back(std::make_unique<StatusCounters>());
}

Status HttpServer::Start() {
  if (started_.exchange(true)) return Status(StatusCode::kInternal, "http server started twice");
  const int threads = std::max(options_.threads, 1);
  io_ = std::make_unique<Io>(threads);
  io_->listener = std::make_shared<internal::HttpListener>(io_->ioc, *this);
  if (Status s = io_->listener->Listen(options_.host, options_.port, port_); !s.ok()) return s;
  io_->listener->Run();
  running_threads_ = threads;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { RunThread(); });
  return Status::Ok();
}

void HttpServer::RunThread() {
  for (;;) {
    try {
      io_->ioc.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("http: unexpected exception in the io_context: {}", e.what());
    }
  }
  std::lock_guard lock(threads_mu_);
  --running_threads_;
  threads_idle_.notify_all();
}

void HttpServer::Stop() {
  if (!started_.load() || stopping_.exchange(true, std::memory_order_acq_rel)) return;
  io_->listener->Close();
  std::vector<std::shared_ptr<internal::HttpSession>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (const auto& [ptr, weak] : sessions_) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (const auto& session : live) session->Close();
  live.clear();
  io_->work.reset();
  {
    std::unique_lock lock(threads_mu_);
    threads_idle_.wait_for(lock, options_.stop_grace, [&] { return running_threads_ == 0; });
  }
  io_->ioc.stop();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool HttpServer::Register(const std::shared_ptr<internal::HttpSession>& session) {
  std::lock_guard lock(sessions_mu_);
  if (stopping()) return false;
  sessions_.emplace(session.get(), session);
  return true;
}

void HttpServer::Unregister(internal::HttpSession* session) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(session);
}

std::size_t HttpServer::FindRoute(std::string_view path) const {
  if (const auto it = route_index_.find(path); it != route_index_.end()) return it->second;
  // The longest prefix route: cut the path back one segment at a time.
  for (std::size_t slash = path.rfind('/'); slash != std::string_view::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    const auto it = route_index_.find(path.substr(0, slash));
    if (it != route_index_.end() && routes_[it->second].prefix) return it->second;
  }
  return kOther;
}

void HttpServer::Count(std::size_t route, int status) const {
  const std::size_t slot = route == kOther ? 0 : route + 1;
  const int clamped = std::clamp(status, 100, 599);
  counters_[slot]->by_status[clamped - 100].fetch_add(1, std::memory_order_relaxed);
}

HttpStatsSnapshot HttpServer::stats() const {
  HttpStatsSnapshot snapshot;
  std::vector<std::pair<std::string_view, std::size_t>> order;  // (path, slot)
  order.emplace_back("other", 0);
  for (std::size_t i = 0; i < routes_.size(); ++i) order.emplace_back(routes_[i].path, i + 1);
  std::sort(order.begin(), order.end());
  for (const auto& [path, slot] : order) {
    for (int s = 0; s < 500; ++s) {
      const std::uint64_t n = counters_[slot]->by_status[s].load(std::memory_order_relaxed);
      if (n != 0) snapshot.requests.push_back({std::string(path), s + 100, n});
    }
  }
  snapshot.connections_open = open_.load(std::memory_order_relaxed);
  snapshot.connections_accepted = accepted_.load(std::memory_order_relaxed);
  snapshot.connections_rejected = rejected_.load(std::memory_order_relaxed);
  return snapshot;
}

Response HttpServer::Dispatch(Request& request, std::size_t& route) const {
  route = FindRoute(request.path);
  if (route == kOther) return Response::Error(404, "not found");
  const Route& r = routes_[route];
  const bool head = request.method == "HEAD";
  if (!Contains(r.methods, request.method) && !(head && Contains(r.methods, "GET"))) {
    std::string allow;
    for (const std::string& m : r.methods) allow += (allow.empty() ? "" : ", ") + m;
    if (Contains(r.methods, "GET") && !Contains(r.methods, "HEAD")) allow += ", HEAD";
    Response response = Response::Error(405, "method not allowed");
    response.headers.emplace_back("Allow", std::move(allow));
    return response;
  }
  const Role role = r.role_for_method ? r.role_for_method(request.method) : r.role;
  if (auth_ != nullptr && auth_->enabled() && role != Role::kNone) {
    AuthDecision decision = auth_->Check(
        {request.header("authorization"), request.param("u"), request.param("p")}, role);
    if (!decision.allowed()) {
      Response response = Response::Error(decision.status, decision.error);
      if (decision.status == 401) {
        response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"" + auth_->realm() + "\"");
      }
      return response;
    }
    request.principal = std::move(decision.principal);
  }
  try {
    return r.handler(request);
  } catch (const std::exception& e) {
    spdlog::error("http {} {}: handler failed: {}", request.method, request.path, e.what());
    return Response::Error(500, std::string("internal error: ") + e.what());
  }
}

}  // namespace tidewatch::daemon

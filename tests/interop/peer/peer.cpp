// A QuickFIX C++ counterparty for fixwire's interop tests.
//
//   peer --config FILE --role acceptor|initiator [--ssl] [--password PW] [--quiet] [--no-log]
//        [--memory-store]
//
// Answers every NewOrderSingle (35=D) with an ExecutionReport (35=8), for FIX.4.0 to FIX.4.4 and
// FIXT.1.1/FIX.5.0SP2. Prints one JSON line per event on stdout. Reads commands on stdin:
//   orders N PREFIX   send N NewOrderSingle (ClOrdID PREFIX1..PREFIXN) on every logged-on session
//   group-orders N PREFIX  the same with repeating groups: two Parties, the first with two
//                     PartySubIDs (FIX.4.2: two NoAllocs entries)
//   data-orders N PREFIX  the same with EncodedText(355): UTF-8, SOH and '=' in 10 bytes
//   bench N           (initiator) send N orders at once, wait for their N reports, print the time
//   latency N         (initiator) N times: send one order, wait for its report; print the median
//                     ("us", also "p50") and the 99th and 99.9th percentiles ("p99", "p999")
//   logout            log every session out
//   quit              stop and exit 0 (also on end of input)
// A report carries its order's EncodedText back, and an order with groups (the peer's own or
// fixwire's) is answered with its Parties (FIX.4.3 and later) and two ContraBrokers. Each
// message received is printed with its groups as QuickFIX parsed them and its EncodedText in hex.
// With --password PW, a Logon whose Password(554) differs is refused (RejectLogon).
// --quiet prints no per-message events (for benchmarks); --no-log keeps no QuickFIX message log;
// --memory-store keeps sequence numbers and messages in QuickFIX's MemoryStore (no file store).
// The orders it sends are bench/e2e.ts's: the same fields and values, so the same size.
#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/SSLSocketAcceptor.h>
#include <quickfix/SSLSocketInitiator.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <vector>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

static std::mutex outMutex;
static bool quiet = false;

static std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += c; }
    else if (c == '\x01') o += '|';
    else if (static_cast<unsigned char>(c) < 32) o += ' ';
    else o += c;
  }
  return o;
}

static void emit(const std::string& json) {
  std::lock_guard<std::mutex> lock(outMutex);
  std::cout << json << std::endl;
}

static std::string field(const FIX::FieldMap& m, int tag) {
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

// The repeating groups the tests send, as QuickFIX parsed them with its dictionary: Parties(453)
// with their PartySubIDs(802), NoAllocs(78) (FIX.4.2's NewOrderSingle), NoContraBrokers(382).
// "453:ID/Source/Role[SubID/Type;...],...|78:Account/Shares,...|382:Broker/Trader/Qty,...".
static std::string groupsOf(const FIX::FieldMap& m) {
  std::string out;
  auto each = [&](int count, const std::vector<int>& tags, int nested,
                  const std::vector<int>& nestedTags) {
    const int n = static_cast<int>(m.groupCount(count));
    if (n == 0) return;
    if (!out.empty()) out += "|";
    out += std::to_string(count) + ":";
    for (int i = 1; i <= n; ++i) {
      const FIX::FieldMap& e = m.getGroupRef(i, count);
      if (i > 1) out += ",";
      for (size_t k = 0; k < tags.size(); ++k) out += (k ? "/" : "") + field(e, tags[k]);
      const int sub = nested ? static_cast<int>(e.groupCount(nested)) : 0;
      for (int j = 1; j <= sub; ++j) {
        const FIX::FieldMap& s = e.getGroupRef(j, nested);
        out += j == 1 ? "[" : ";";
        for (size_t k = 0; k < nestedTags.size(); ++k) out += (k ? "/" : "") + field(s, nestedTags[k]);
      }
      if (sub > 0) out += "]";
    }
  };
  each(453, {448, 447, 452}, 802, {523, 803});
  each(78, {79, 80}, 0, {});
  each(382, {375, 337, 437}, 0, {});
  return out;
}

// A data field's bytes (EncodedText(355) may hold SOH and '='), as hex.
static std::string hexOf(const std::string& v) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : v) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// The EncodedText of `data-orders`: UTF-8, SOH and '=' in ten bytes.
static const std::string ENCODED_TEXT("\xE6\xB3\xA8\xE6\x96\x87\x01=x9", 10);

class Peer : public FIX::Application {
 public:
  explicit Peer(std::string password) : password_(std::move(password)) {}
  std::set<FIX::SessionID> sessions;
  std::mutex sessionsMutex;
  long reports = 0;
  std::mutex reportsMutex;
  std::condition_variable reportsChanged;

  /** Waits until `target` reports have arrived, at most 60 s; returns whether they did. */
  bool awaitReports(long target) {
    std::unique_lock<std::mutex> l(reportsMutex);
    return reportsChanged.wait_for(l, std::chrono::seconds(60), [&] { return reports >= target; });
  }
  long reportCount() {
    std::lock_guard<std::mutex> l(reportsMutex);
    return reports;
  }

  // Latency: each report's arrival sends the next order from QuickFIX's own thread, the way a
  // QuickFIX application answers, so no thread hand-off is measured.
  std::atomic<long> latencyLeft{0};
  std::vector<double> rtts;
  std::chrono::steady_clock::time_point sentAt;

  void sendLatencyOrder(const FIX::SessionID& id) {
    sentAt = std::chrono::steady_clock::now();
    FIX::Message m = newOrderFor("l" + std::to_string(latencyLeft.load()));
    FIX::Session::sendToTarget(m, id);
  }
  void nextLatencyOrder(const FIX::SessionID& id) {
    rtts.push_back(std::chrono::duration<double, std::micro>(
                       std::chrono::steady_clock::now() - sentAt)
                       .count());
    if (--latencyLeft > 0) sendLatencyOrder(id);
  }
  static FIX::Message newOrderFor(const std::string& clOrdId);

  void onCreate(const FIX::SessionID& id) override {
    emit("{\"ev\":\"create\",\"session\":\"" + esc(id.toString()) + "\"}");
  }
  void onLogon(const FIX::SessionID& id) override {
    { std::lock_guard<std::mutex> l(sessionsMutex); sessions.insert(id); }
    emit("{\"ev\":\"logon\",\"session\":\"" + esc(id.toString()) + "\"}");
  }
  void onLogout(const FIX::SessionID& id) override {
    { std::lock_guard<std::mutex> l(sessionsMutex); sessions.erase(id); }
    emit("{\"ev\":\"logout\",\"session\":\"" + esc(id.toString()) + "\"}");
  }
  void toAdmin(FIX::Message& m, const FIX::SessionID&) override {
    const std::string type = m.getHeader().getField(35);
    if (type == "A" && !password_.empty()) m.setField(554, password_);
    if (quiet) return;
    emit("{\"ev\":\"admin_out\",\"type\":\"" + esc(type) + "\",\"seq\":" +
         m.getHeader().getField(34) + ",\"text\":\"" + esc(field(m, 58)) + "\",\"reset\":\"" +
         esc(field(m, 141)) + "\",\"gapfill\":\"" + esc(field(m, 123)) + "\",\"newseqno\":\"" +
         esc(field(m, 36)) + "\"}");
  }
  void toApp(FIX::Message& m, const FIX::SessionID&) throw(FIX::DoNotSend) override {
    if (quiet) return;
    emit("{\"ev\":\"app_out\",\"type\":\"" + esc(m.getHeader().getField(35)) + "\",\"seq\":" +
         m.getHeader().getField(34) + "}");
  }
  void fromAdmin(const FIX::Message& m, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
             FIX::RejectLogon) override {
    const std::string type = m.getHeader().getField(35);
    if (!quiet) emit("{\"ev\":\"admin_in\",\"type\":\"" + esc(type) + "\",\"seq\":" +
         m.getHeader().getField(34) + ",\"possdup\":" +
         (field(m.getHeader(), 43) == "Y" ? "true" : "false") + ",\"text\":\"" +
         esc(field(m, 58)) + "\",\"reset\":\"" + esc(field(m, 141)) + "\",\"gapfill\":\"" +
         esc(field(m, 123)) + "\",\"newseqno\":\"" + esc(field(m, 36)) + "\"}");
    if (type == "A" && !expectPassword_.empty() && field(m, 554) != expectPassword_) {
      throw FIX::RejectLogon("Invalid password");
    }
  }
  void fromApp(const FIX::Message& m, const FIX::SessionID& id)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
             FIX::UnsupportedMessageType) override {
    const auto& h = m.getHeader();
    const std::string type = h.getField(35);
    if (type == "8") {
      if (latencyLeft > 0) nextLatencyOrder(id);
      std::lock_guard<std::mutex> l(reportsMutex);
      ++reports;
      reportsChanged.notify_all();
    }
    if (!quiet) emit("{\"ev\":\"app_in\",\"type\":\"" + esc(type) + "\",\"seq\":" + h.getField(34) +
         ",\"possdup\":" + (field(h, 43) == "Y" ? "true" : "false") + ",\"clordid\":\"" +
         esc(field(m, 11)) + "\",\"groups\":\"" + esc(groupsOf(m)) + "\",\"data\":\"" +
         hexOf(field(m, 355)) + "\",\"session\":\"" + esc(id.toString()) + "\"}");
    if (type != "D") return;
    // An application checks possible duplicates: a resent order it already answered is ignored.
    // (Benchmarks, --quiet, resend nothing and skip the check.)
    if (!quiet) {
      std::lock_guard<std::mutex> l(answeredMutex_);
      if (!answered_.insert(field(m, 11)).second && field(h, 43) == "Y") return;
    }
    FIX::Message er;
    er.getHeader().setField(35, "8");
    const std::string begin = id.getBeginString().getValue();
    const bool fix40 = begin == "FIX.4.0", fix41 = begin == "FIX.4.1";
    const std::string clOrdId = field(m, 11);
    const std::string qty = m.isSetField(38) ? m.getField(38) : std::string("0");
    er.setField(37, "O-" + clOrdId);
    // FIX.4.0's ExecID(17) is an INT.
    er.setField(17, (fix40 ? "" : "E-") + std::to_string(++execId_));
    er.setField(11, clOrdId);
    // ExecTransType(20) until FIX.4.2, ExecType(150) and LeavesQty(151) from FIX.4.1,
    // OrderQty(38), LastShares(32) and LastPx(31) required in FIX.4.0 and 4.1.
    if (begin == "FIX.4.2" || fix40 || fix41) er.setField(20, "0");
    if (!fix40) er.setField(150, "0");
    er.setField(39, "0");
    er.setField(55, m.isSetField(55) ? m.getField(55) : std::string("X"));
    er.setField(54, m.isSetField(54) ? m.getField(54) : std::string("1"));
    if (!fix40) er.setField(151, qty);
    if (fix40 || fix41) {
      er.setField(38, qty);
      er.setField(32, "0");
      er.setField(31, "0");
    }
    er.setField(14, "0");
    er.setField(6, "0");
    // (Not in the benchmarks, --quiet: QuickFIX's side does no work fixwire's does not.)
    if (!quiet && m.isSetField(355)) {
      // EncodedText back as it came (a data field: its length first).
      er.setField(354, std::to_string(field(m, 355).size()));
      er.setField(355, field(m, 355));
    }
    if (!quiet && (m.groupCount(453) > 0 || m.groupCount(78) > 0)) {
      // The order's Parties back (FIX.4.3 and later have them in the report), with their
      // PartySubIDs, and two ContraBrokers.
      for (int i = 1; i <= static_cast<int>(m.groupCount(453)); ++i) {
        const FIX::FieldMap& src = m.getGroupRef(i, 453);
        FIX::Group party(453, 448, FIX::message_order(448, 447, 452, 802, 0));
        for (int tag : {448, 447, 452}) if (src.isSetField(tag)) party.setField(tag, src.getField(tag));
        for (int j = 1; j <= static_cast<int>(src.groupCount(802)); ++j) {
          const FIX::FieldMap& s = src.getGroupRef(j, 802);
          FIX::Group sub(802, 523, FIX::message_order(523, 803, 0));
          for (int tag : {523, 803}) if (s.isSetField(tag)) sub.setField(tag, s.getField(tag));
          party.addGroup(sub);
        }
        er.addGroup(party);
      }
      const char* brokers[][3] = {{"CB1", "T1", "40"}, {"CB2", "T2", "60"}};
      for (auto& b : brokers) {
        FIX::Group cb(382, 375, FIX::message_order(375, 337, 437, 438, 0));
        cb.setField(375, b[0]);
        cb.setField(337, b[1]);
        cb.setField(437, b[2]);
        er.addGroup(cb);
      }
    }
    try {
      FIX::Session::sendToTarget(er, id);
    } catch (std::exception& e) {
      emit("{\"ev\":\"error\",\"text\":\"" + esc(e.what()) + "\"}");
    }
  }
  void expectPassword(const std::string& pw) { expectPassword_ = pw; }

 private:
  std::string password_;
  std::string expectPassword_;
  std::atomic<long> execId_{0};
  std::mutex answeredMutex_;
  std::set<std::string> answered_;
};

FIX::Message Peer::newOrderFor(const std::string& clOrdId) {
  FIX::Message m;
  m.getHeader().setField(35, "D");
  m.setField(11, clOrdId);
  m.setField(21, "1");
  m.setField(55, "EUR/USD");
  m.setField(54, "1");
  m.setField(60, "20261124-10:00:00.000");
  m.setField(38, "100");
  m.setField(40, "2");
  m.setField(44, "1.08215");
  return m;
}

// Groups for the k-th order: two Parties, the first with two PartySubIDs (FIX.4.3 and later),
// or two NoAllocs entries (FIX.4.2, whose NewOrderSingle has no Parties).
static void addOrderGroups(FIX::Message& m, const FIX::SessionID& id, long k) {
  const std::string n = std::to_string(k);
  if (id.getBeginString().getValue() == "FIX.4.2") {
    for (const char* acct : {"ACC1", "ACC2"}) {
      FIX::Group a(78, 79, FIX::message_order(79, 80, 0));
      a.setField(79, std::string(acct) + "-" + n);
      a.setField(80, "50");
      m.addGroup(a);
    }
    return;
  }
  FIX::Group trader(453, 448, FIX::message_order(448, 447, 452, 802, 0));
  trader.setField(448, "TRADER-" + n);
  trader.setField(447, "D");
  trader.setField(452, "11");
  const char* subs[][2] = {{"desk-a", "9"}, {"room-3", "10"}};
  for (auto& s : subs) {
    FIX::Group sub(802, 523, FIX::message_order(523, 803, 0));
    sub.setField(523, s[0]);
    sub.setField(803, s[1]);
    trader.addGroup(sub);
  }
  m.addGroup(trader);
  FIX::Group firm(453, 448, FIX::message_order(448, 447, 452, 802, 0));
  firm.setField(448, "FIRM");
  firm.setField(447, "D");
  firm.setField(452, "1");
  m.addGroup(firm);
}

static FIX::Message newOrder(const FIX::SessionID& id, const std::string& clOrdId) {
  FIX::Message m = Peer::newOrderFor(clOrdId);
  // FIX.4.0 and 4.1's NewOrderSingle has no TransactTime(60).
  const std::string begin = id.getBeginString().getValue();
  if (begin == "FIX.4.0" || begin == "FIX.4.1") m.removeField(60);
  return m;
}

int main(int argc, char** argv) {
  std::string config, role = "acceptor", password, expect;
  bool ssl = false, noLog = false, memoryStore = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) config = argv[++i];
    else if (a == "--role" && i + 1 < argc) role = argv[++i];
    else if (a == "--password" && i + 1 < argc) password = argv[++i];
    else if (a == "--expect-password" && i + 1 < argc) expect = argv[++i];
    else if (a == "--ssl") ssl = true;
    else if (a == "--quiet") quiet = true;
    else if (a == "--no-log") noLog = true;
    else if (a == "--memory-store") memoryStore = true;
  }
  try {
    FIX::SessionSettings settings(config);
    Peer app(password);
    app.expectPassword(expect);
    FIX::FileStoreFactory fileStore(settings);
    FIX::MemoryStoreFactory memStore;
    FIX::MessageStoreFactory& store =
        memoryStore ? static_cast<FIX::MessageStoreFactory&>(memStore) : fileStore;
    FIX::FileLogFactory log(settings);
    std::unique_ptr<FIX::Acceptor> acceptor;
    std::unique_ptr<FIX::Initiator> initiator;
    if (role == "acceptor") {
      if (ssl) acceptor.reset(new FIX::SSLSocketAcceptor(app, store, settings, log));
      else if (noLog) acceptor.reset(new FIX::SocketAcceptor(app, store, settings));
      else acceptor.reset(new FIX::SocketAcceptor(app, store, settings, log));
      acceptor->start();
    } else {
      if (ssl) initiator.reset(new FIX::SSLSocketInitiator(app, store, settings, log));
      else if (noLog) initiator.reset(new FIX::SocketInitiator(app, store, settings));
      else initiator.reset(new FIX::SocketInitiator(app, store, settings, log));
      initiator->start();
    }
    emit("{\"ev\":\"ready\"}");
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string cmd;
      in >> cmd;
      if (cmd == "orders" || cmd == "group-orders" || cmd == "data-orders") {
        long n = 0;
        std::string prefix;
        in >> n >> prefix;
        std::set<FIX::SessionID> ids;
        { std::lock_guard<std::mutex> l(app.sessionsMutex); ids = app.sessions; }
        for (const auto& id : ids) {
          for (long k = 1; k <= n; ++k) {
            FIX::Message m = newOrder(id, prefix + std::to_string(k));
            if (cmd == "group-orders") addOrderGroups(m, id, k);
            if (cmd == "data-orders") {
              m.setField(354, std::to_string(ENCODED_TEXT.size()));
              m.setField(355, ENCODED_TEXT);
            }
            FIX::Session::sendToTarget(m, id);
          }
        }
        emit("{\"ev\":\"sent\",\"count\":" + std::to_string(n * (long)ids.size()) + "}");
      } else if (cmd == "bench" || cmd == "latency") {
        long n = 0;
        in >> n;
        std::set<FIX::SessionID> ids;
        { std::lock_guard<std::mutex> l(app.sessionsMutex); ids = app.sessions; }
        if (ids.size() != 1) {
          emit("{\"ev\":\"error\",\"text\":\"bench needs exactly one logged-on session\"}");
          continue;
        }
        const FIX::SessionID id = *ids.begin();
        using Clock = std::chrono::steady_clock;
        bool ok = true;
        if (cmd == "bench") {
          const long target = app.reportCount() + n;
          const auto t0 = Clock::now();
          for (long k = 1; k <= n; ++k) {
            FIX::Message m = newOrder(id, "b" + std::to_string(k));
            FIX::Session::sendToTarget(m, id);
          }
          ok = app.awaitReports(target);
          const double us =
              std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          emit("{\"ev\":\"bench\",\"count\":" + std::to_string(n) + ",\"us\":" +
               std::to_string(static_cast<long>(us)) + ",\"ok\":" + (ok ? "true" : "false") +
               "}");
        } else {
          const long target = app.reportCount() + n;
          app.rtts.clear();
          app.latencyLeft = n;
          app.sendLatencyOrder(id);
          ok = app.awaitReports(target);
          app.latencyLeft = 0;
          std::vector<double> rtts = app.rtts;
          std::sort(rtts.begin(), rtts.end());
          // Nearest rank, as bench/e2e.ts computes it: the ceil(q * n)-th smallest.
          const auto rank = [&](double q) {
            if (rtts.empty()) return 0.0;
            const size_t k = static_cast<size_t>(std::ceil(q * rtts.size()));
            return rtts[std::min(rtts.size(), std::max<size_t>(k, 1)) - 1];
          };
          const double median = rtts.empty() ? 0 : rtts[rtts.size() / 2];
          emit("{\"ev\":\"latency\",\"count\":" + std::to_string(n) + ",\"us\":" +
               std::to_string(median) + ",\"p50\":" + std::to_string(rank(0.5)) +
               ",\"p99\":" + std::to_string(rank(0.99)) + ",\"p999\":" +
               std::to_string(rank(0.999)) + ",\"ok\":" + (ok ? "true" : "false") + "}");
        }
      } else if (cmd == "logout") {
        std::set<FIX::SessionID> ids;
        { std::lock_guard<std::mutex> l(app.sessionsMutex); ids = app.sessions; }
        for (const auto& id : ids) {
          FIX::Session* s = FIX::Session::lookupSession(id);
          if (s) s->logout("peer logout");
        }
      } else if (cmd == "quit") {
        break;
      }
    }
    if (acceptor) acceptor->stop();
    if (initiator) initiator->stop();
    emit("{\"ev\":\"stopped\"}");
    return 0;
  } catch (std::exception& e) {
    emit(std::string("{\"ev\":\"fatal\",\"text\":\"") + esc(e.what()) + "\"}");
    return 1;
  }
}

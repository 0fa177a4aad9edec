// QuickFIX C++'s side of the codec rows of bench/vs_quickfix.ts (fixwire's side is
// bench/codec_rows.ts, which does the same work with the same messages).
//
//   codec_bench decode|decode-dict|encode COUNT [--orders FILE] [--spec FIX44.xml] [--warmup N]
//
// decode       reads FILE (NewOrderSingle frames back to back, written by bench/vs_quickfix.ts
//              with fixwire's encoder) again and again until COUNT messages are decoded. The
//              bytes arrive in 64 KiB chunks; each frame is found from its BodyLength(9) and
//              parsed with FIX::Message(frame, validate = true), which checks BodyLength and
//              CheckSum (the integrity checks QuickFIX's session makes, and fixwire's framer);
//              then the fields a session and an application read are read.
// decode-dict  the same, parsed with the FIX.4.4 FIX::DataDictionary from --spec and validated
//              with it (DataDictionary::validate, as a session with UseDataDictionary=Y does).
// encode       builds COUNT FIX44::NewOrderSingle from field values (header included) and
//              serialises each with toString into an output buffer cleared every 64 KiB.
// The first N messages (--warmup, default 100000) are not timed. Prints one JSON line:
//   {"task":"decode","count":COUNT,"ns":ELAPSED,"bytes":B,"check":C}
// QuickFIX's own Parser erases the front of its buffer for every message it takes, which with
// 64 KiB chunks costs more than its 8 KiB socket reads do; the frame finder here spares it that.
#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/Message.h>
#include <quickfix/fix44/NewOrderSingle.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

static const size_t CHUNK = 64 * 1024;
static const char* TIME = "20261124-10:00:00.000";

struct Totals {
  long messages = 0;
  long bytes = 0;
  long check = 0;
};

/** The fields a session and an application read (as bench/codec_rows.ts reads them). */
static long readOrder(const FIX::Message& m) {
  const FIX::Header& h = m.getHeader();
  return std::atol(h.getField(34).c_str()) + static_cast<long>(h.getField(35).size()) +
         static_cast<long>(h.getField(49).size()) + static_cast<long>(m.getField(11).size()) +
         static_cast<long>(m.getField(55).size()) + static_cast<long>(m.getField(44).size());
}

/**
 * Feeds `stream` in 64 KiB chunks until `count` messages are decoded, passing over it as often
 * as needed (it holds whole frames, so every pass starts on a frame).
 */
static void decode(const std::string& stream, long count, const FIX::DataDictionary* dd,
                   Totals& t) {
  std::string pending;
  pending.reserve(2 * CHUNK);
  std::string frame;
  size_t at = 0;
  while (t.messages < count) {
    const size_t n = std::min(CHUNK, stream.size() - at);
    pending.append(stream, at, n);
    at += n;
    if (at == stream.size()) at = 0;
    t.bytes += static_cast<long>(n);
    size_t p = 0;
    while (t.messages < count) {
      // 8=FIX.x.y<SOH>9=<digits><SOH>: the frame runs BodyLength bytes past it, plus 10=nnn<SOH>.
      const size_t soh = pending.find('\x01', p);
      if (soh == std::string::npos || soh + 3 >= pending.size()) break;
      if (pending.compare(p, 5, "8=FIX") != 0 || pending.compare(soh + 1, 2, "9=") != 0) {
        throw std::runtime_error("garbled stream");
      }
      size_t q = soh + 3;
      long bodyLength = 0;
      while (q < pending.size() && pending[q] != '\x01') {
        bodyLength = bodyLength * 10 + (pending[q++] - '0');
      }
      if (q >= pending.size()) break;
      const size_t end = q + 1 + static_cast<size_t>(bodyLength) + 7;
      if (end > pending.size()) break;
      frame.assign(pending, p, end - p);
      p = end;
      if (dd) {
        FIX::Message m(frame, *dd, true);
        dd->validate(m);
        t.check += readOrder(m);
      } else {
        FIX::Message m(frame, true);
        t.check += readOrder(m);
      }
      ++t.messages;
    }
    pending.erase(0, p);
  }
}

static void encode(long count, long first, Totals& t) {
  std::string out;
  out.reserve(2 * CHUNK);
  std::string one;
  for (long i = first; i < first + count; ++i) {
    FIX44::NewOrderSingle m;
    FIX::Header& h = m.getHeader();
    h.setField(FIX::SenderCompID("T"));
    h.setField(FIX::TargetCompID("V"));
    h.setField(FIX::MsgSeqNum(static_cast<int>(i + 1)));
    h.setField(52, TIME);
    m.set(FIX::ClOrdID("o" + std::to_string(i)));
    m.set(FIX::HandlInst('1'));
    m.set(FIX::Symbol("EUR/USD"));
    m.set(FIX::Side('1'));
    m.setField(60, TIME);
    m.set(FIX::OrderQty(100));
    m.set(FIX::OrdType('2'));
    m.set(FIX::Price(1.08215));
    m.toString(one);
    out.append(one);
    if (out.size() >= CHUNK) {
      t.bytes += static_cast<long>(out.size());
      t.check += out[out.size() - 2];
      out.clear();
    }
    ++t.messages;
  }
  t.bytes += static_cast<long>(out.size());
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: codec_bench decode|decode-dict|encode COUNT [--orders FILE] "
                 "[--spec FIX44.xml] [--warmup N]\n";
    return 2;
  }
  const std::string task = argv[1];
  const long count = std::atol(argv[2]);
  std::string orders, spec;
  long warmup = 100000;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--orders") orders = argv[i + 1];
    else if (a == "--spec") spec = argv[i + 1];
    else if (a == "--warmup") warmup = std::atol(argv[i + 1]);
  }
  try {
    using Clock = std::chrono::steady_clock;
    Totals warm, t;
    Clock::time_point t0;
    if (task == "encode") {
      encode(warmup, 0, warm);
      t0 = Clock::now();
      encode(count, warmup, t);
    } else if (task == "decode" || task == "decode-dict") {
      std::ifstream in(orders, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read --orders " + orders);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string stream = ss.str();
      std::unique_ptr<FIX::DataDictionary> dd;
      if (task == "decode-dict") dd.reset(new FIX::DataDictionary(spec));
      decode(stream, warmup, dd.get(), warm);
      t0 = Clock::now();
      decode(stream, count, dd.get(), t);
    } else {
      throw std::runtime_error("unknown task " + task);
    }
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    std::cout << "{\"task\":\"" << task << "\",\"count\":" << t.messages << ",\"ns\":"
              << static_cast<long long>(ns) << ",\"bytes\":" << t.bytes
              << ",\"check\":" << (t.check + warm.check) << "}" << std::endl;
    return 0;
  } catch (std::exception& e) {
    std::cout << "{\"error\":\"" << e.what() << "\"}" << std::endl;
    return 1;
  }
}

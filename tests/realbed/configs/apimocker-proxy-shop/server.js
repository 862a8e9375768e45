// apimocker as the shop's frontend team runs it, pinned to loopback.
//   node server.js -c config.json -p PORT --proxy http://127.0.0.1:SHOP
// apimocker's CLI (bin/apimocker.js) calls express's app.listen(port), which listens on every
// interface and has no host option. This wrapper makes every http server of this process listen on
// 127.0.0.1 when no host is given, then runs apimocker's own CLI unchanged (same argv).
const http = require("http");

const HOST = process.env.APIMOCKER_HOST || "127.0.0.1";
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  if ((typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) &&
      typeof args[1] !== "string") {
    args.splice(1, 0, HOST);
  }
  return listen.apply(this, args);
};

require("apimocker/bin/apimocker.js");

// The Espruino surface, built INSIDE the board's vm context.
//
// Evaluated once per boot as a function expression and called with one host bridge function.
// Everything the firmware can reach (E, Serial1, Storage, timers...) is a context object made
// here, so no host (Node) function or object is ever reachable from firmware code: the bridge
// lives only in this closure, and the host returns primitives or context-made objects.
// The host drives callbacks through the returned dispatcher (prepare + run).
//
// hostBytes and hostText are the host's own conversions between byte strings and byte arrays
// (Node's latin1 codec, optimised once for the process instead of a byte loop that starts cold
// in every context): hostBytes makes a Uint8Array with this context's constructor, hostText
// reads one and gives a string. Like the bridge, they live only in this closure.
(function (host, DEVICE_TAG, consoleName, hostBytes, hostText) {
  'use strict';
  var G = globalThis;
  var LISTENERS = '\u0000listeners';
  var defineHidden = function (obj, key, value) {
    Object.defineProperty(obj, key, { value: value, enumerable: false, writable: true, configurable: false });
  };

  // ---- binary helpers -------------------------------------------------------------------
  // V8's own (the board's String.fromCharCode masks every code, a cost the bytes here never need)
  var bytesToString = String.fromCharCode;
  // V8's own constructors, read once: a global read from inside a vm context is a host
  // interceptor call (~0.1-0.2 us), and these run for every byte conversion. (instanceof gives
  // the same answer for the board's stand-ins, whose prototypes are these.)
  var NativeArrayBuffer = ArrayBuffer;
  var NativeUint8Array = Uint8Array;
  var NativeUint8ClampedArray = Uint8ClampedArray;
  var isView = ArrayBuffer.isView;
  function isByteArray(data) {
    return data instanceof NativeUint8Array || data instanceof NativeUint8ClampedArray;
  }
  function toBin(data) {
    if (data === undefined || data === null) return '';
    if (typeof data === 'string') return data;
    if (typeof data === 'number') return bytesToString(data & 255);
    if (typeof data === 'boolean') return bytesToString(data ? 1 : 0);
    if (data instanceof NativeArrayBuffer) data = new NativeUint8Array(data);
    // Byte arrays (every element already 0..255) a slice at a time: per-byte concatenation made
    // the firmware's CRC checks at every boot a tenth of a fault campaign's CPU.
    if (isByteArray(data)) {
      try {
        return hostText(data);
      } catch (e) {
        throw fromHost(e);
      }
    }
    if (typeof data.length === 'number') {
      var s = '';
      var isBytes = isView(data);
      for (var i = 0; i < data.length; i++) {
        var v = data[i];
        s += isBytes ? bytesToString(v & 255) : toBin(v);
      }
      return s;
    }
    if (typeof data === 'object' && 'data' in data) {
      var one = toBin(data.data);
      var count = data.count === undefined ? 1 : data.count | 0;
      var out = '';
      for (var j = 0; j < count; j++) out += one;
      return out;
    }
    return '';
  }
  // (what the board's Uint8Array refuses: 2^24 bytes or more)
  var MAX_BYTES = 16777216;
  function binToU8(s) {
    if (s.length >= MAX_BYTES) throw new Error('ArrayBuffer too long');
    try {
      return hostBytes(s);
    } catch (e) {
      throw fromHost(e);
    }
  }
  // What a host conversion throws (only V8's RangeError, when the stack runs out on entering
  // it), as this context's own error: no host object may reach the program.
  var ContextObject = Object;
  var ContextRangeError = RangeError;
  function fromHost(e) {
    if (e instanceof ContextObject) return e;
    var m = e !== null && typeof e === 'object' ? e.message : undefined;
    return new ContextRangeError(typeof m === 'string' ? m : String(m));
  }
  function argsBin(args, from) {
    var s = '';
    for (var i = from; i < args.length; i++) s += toBin(args[i]);
    return s;
  }

  // ---- event emitters (Espruino keeps listeners on the object itself) -------------------
  function listeners(obj, ev) {
    var all = obj[LISTENERS];
    if (!all) return [];
    return all[ev] || [];
  }
  // on/removeListener/emit return nothing on Espruino (measured: `process.on(...)` prints =undefined)
  function makeEmitter(obj) {
    defineHidden(obj, LISTENERS, {});
    obj.on = function (ev, fn) {
      if (typeof fn !== 'function') throw new Error('Second argument to EventEmitter.on(..) must be a function or a String (containing code)');
      var all = this[LISTENERS];
      (all[ev] = all[ev] || []).push(fn);
      if (this === G.E && ev === 'errorFlag') host('listening', 'errorFlag');
    };
    obj.addListener = obj.on;
    obj.removeListener = function (ev, fn) {
      var list = this[LISTENERS][ev];
      if (!list) return;
      var i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
    obj.removeAllListeners = function (ev) {
      if (ev === undefined) defineHidden(this, LISTENERS, {});
      else delete this[LISTENERS][ev];
    };
    obj.emit = function (ev) {
      var list = listeners(this, ev).slice();
      var args = [];
      for (var i = 1; i < arguments.length; i++) args.push(arguments[i]);
      for (var k = 0; k < list.length; k++) list[k].apply(this, args);
    };
    return obj;
  }

  // ---- serial devices ---------------------------------------------------------------------
  var devices = {};
  function makeDevice(name) {
    var dev = makeEmitter({});
    defineHidden(dev, DEVICE_TAG, name);
    defineHidden(dev, '\u0000buf', '');
    dev.setup = function (baud, opts) {
      host('devSetup', name, baud === undefined ? 9600 : +baud);
    };
    dev.write = function () {
      host('devWrite', name, argsBin(arguments, 0));
    };
    dev.print = function (s) {
      host('devWrite', name, String(s));
    };
    dev.println = function (s) {
      host('devWrite', name, String(s) + '\r\n');
    };
    dev.available = function () {
      return this['\u0000buf'].length;
    };
    dev.read = function (n) {
      var b = this['\u0000buf'];
      if (n === undefined || n > b.length) n = b.length;
      this['\u0000buf'] = b.substr(n);
      return b.substr(0, n);
    };
    dev.setConsole = function () {
      host('setConsole', name);
    };
    dev.inject = function () {
      host('devInject', name, argsBin(arguments, 0));
    };
    devices[name] = dev;
    return dev;
  }

  // ---- timers -----------------------------------------------------------------------------
  var timers = {};
  function addTimer(fn, ms, args, interval) {
    if (typeof fn === 'string') {
      var code = fn;
      fn = function () {
        (0, eval)(code);
      };
    }
    if (typeof fn !== 'function') throw new Error('Function or String not supplied!');
    var extra = [];
    for (var i = 2; i < args.length; i++) extra.push(args[i]);
    var id = host('timerAdd', ms === undefined ? 0 : +ms, interval);
    timers[id] = { fn: fn, args: extra };
    return id;
  }
  function clearTimer(id) {
    if (id === undefined) {
      timers = {};
      host('timerClear');
      return;
    }
    // an id that is no timer (any more) is ignored, as on 2v29
    if (!timers[id]) return;
    delete timers[id];
    host('timerClear', id);
  }
  G.setTimeout = function (fn, ms) {
    return addTimer(fn, ms, arguments, false);
  };
  G.setInterval = function (fn, ms) {
    return addTimer(fn, ms, arguments, true);
  };
  G.clearTimeout = function (id) {
    clearTimer(id);
  };
  G.clearInterval = function (id) {
    clearTimer(id);
  };
  G.changeInterval = function (id, ms) {
    if (!timers[id]) throw new Error("Unknown Interval");
    host('timerChange', id, +ms);
  };
  G.getTime = function () {
    return host('getTime');
  };
  // Time and randomness come from the board: its clock (a board without a set RTC starts at
  // 1970-01-01 at power-on) and its seeded generator, so the same seed gives the same run.
  var NativeDate = Date;
  var BoardDate = function Date(a, b, c, d, e, f, g) {
    if (!(this instanceof BoardDate)) return new NativeDate(host('now')).toString();
    if (arguments.length === 0) return new NativeDate(host('now'));
    var args = [null];
    for (var i = 0; i < arguments.length; i++) args.push(arguments[i]);
    return new (Function.prototype.bind.apply(NativeDate, args))();
  };
  BoardDate.prototype = NativeDate.prototype;
  Object.defineProperty(NativeDate.prototype, 'constructor', { value: BoardDate, writable: true, configurable: true, enumerable: false });
  BoardDate.now = function () {
    return host('now');
  };
  BoardDate.parse = NativeDate.parse;
  G.Date = BoardDate;
  Math.random = function () {
    return host('random');
  };

  // ---- console ------------------------------------------------------------------------------
  G.print = function () {
    host('print', Array.prototype.slice.call(arguments));
  };
  G.console = {
    log: G.print,
    info: G.print,
    warn: G.print,
    error: G.print,
    debug: G.print,
  };
  function typeName(v) {
    if (v === undefined) return 'undefined';
    if (v === null) return 'null';
    if (typeof v === 'number') return 'Number';
    if (typeof v === 'boolean') return 'Boolean';
    if (typeof v === 'function') return 'Function';
    return 'Object';
  }
  G.btoa = function (s) {
    if (typeof s !== 'string' && !(s && typeof s === 'object' && typeof s.length === 'number')) throw new Error('Expecting String or Array, got ' + typeName(s));
    return host('btoa', toBin(s));
  };
  G.atob = function (s) {
    if (typeof s !== 'string') throw new Error('Expecting String, got ' + typeName(s));
    return host('atob', s);
  };
  G.echo = function (on) {
    host('echo', !!on);
  };

  // ---- E ------------------------------------------------------------------------------------
  var E = makeEmitter({});
  E.enableWatchdog = function (timeout, isAuto) {
    host('wdtEnable', +timeout, isAuto === undefined ? true : !!isAuto);
  };
  E.kickWatchdog = function () {
    host('wdtKick');
  };
  E.reboot = function () {
    host('reboot');
  };
  E.getErrorFlags = function () {
    var s = host('getErrorFlags');
    return s ? s.split(',') : [];
  };
  E.CRC32 = function (data) {
    // 2v29 answers undefined for what is no string, array or object (nothing, a number, a boolean)
    if (data === undefined || data === null || typeof data === 'number' || typeof data === 'boolean') return undefined;
    // a byte array goes to the host as it is (no string made of it on the way)
    return host('crc32', isByteArray(data) ? data : toBin(data));
  };
  E.toUint8Array = function () {
    return binToU8(argsBin(arguments, 0));
  };
  E.toArrayBuffer = function (s) {
    return binToU8(toBin(s)).buffer;
  };
  E.toString = function () {
    return argsBin(arguments, 0);
  };
  E.hwRand = function () {
    return host('hwRand');
  };
  E.setConsole = function (dev) {
    var name = typeof dev === 'string' ? dev : dev && dev[DEVICE_TAG];
    if (!name || !devices[name]) throw new Error('Expecting a device name or object');
    host('setConsole', name);
  };
  E.getConsole = function () {
    return host('getConsole');
  };
  E.getSizeOf = function (v) {
    return host('sizeOf', v);
  };
  E.setBootCode = function (code, alwaysExec) {
    host('setBootCode', code === undefined ? '' : String(code));
  };
  // Strings Storage.read returned lately, with the file and offset they map. A real board's string
  // IS the mapping (a native string); here the last few reads are remembered, and the address is
  // asked for only when E.getAddressOf wants it (a read is on the journal's path; this is not).
  var mapped = [];
  E.getAddressOf = function (v, flat) {
    if (flat && typeof v === 'string') {
      for (var i = mapped.length - 1; i >= 0; i--) if (mapped[i][0] === v) return host('storage', 'dataAddress', mapped[i][1], mapped[i][2]);
    }
    return 0;
  };
  G.E = E;

  // ---- modules ------------------------------------------------------------------------------
  var NATIVE = '\u0000native';
  var Flash = {
    getFree: function () {
      return host('flash', 'getFree');
    },
    getPage: function (addr) {
      if (addr === undefined || addr !== addr) return undefined;
      return host('flash', 'getPage', +addr);
    },
    erasePage: function (addr) {
      host('flash', 'erasePage', +addr);
    },
    write: function (data, addr) {
      // Espruino writes any address and length: the words around are filled with 0xFF, which
      // AND-ing leaves as they are.
      var bytes = toBin(data);
      addr = +addr;
      var pre = addr % 4;
      var post = (4 - ((pre + bytes.length) % 4)) % 4;
      if (!bytes.length) return;
      host('flash', 'write', '\xff\xff\xff'.substr(0, pre) + bytes + '\xff\xff\xff'.substr(0, post), addr - pre);
    },
    read: function (length, addr) {
      length = +length;
      if (!(length > 0)) return undefined;
      return binToU8(host('flash', 'read', length, +addr));
    },
  };
  var Storage = {
    read: function (name, offset, length) {
      var n = typeof name === 'string' ? name : String(name);
      var s = host('storage', 'read', n, offset, length);
      if (s !== undefined && s.length) {
        mapped.push([s, n, offset]);
        if (mapped.length > 4) mapped.shift();
      }
      return s;
    },
    readArrayBuffer: function (name) {
      var s = host('storage', 'read', String(name));
      return s === undefined ? undefined : binToU8(s).buffer;
    },
    readJSON: function (name, noExceptions) {
      var s = host('storage', 'read', String(name));
      if (s === undefined) return undefined;
      try {
        return host('parseJSON', s);
      } catch (e) {
        if (noExceptions) return undefined;
        throw e;
      }
    },
    write: function (name, data, offset, size) {
      var bytes = toBin(data);
      if (!(offset > 0) && !(size > 0) && !bytes.length) throw new Error("Can't create zero length file");
      return host('storage', 'write', String(name), bytes, offset, size);
    },
    writeJSON: function (name, data) {
      return host('storage', 'write', String(name), host('stringifyJSON', data));
    },
    erase: function (name) {
      host('storage', 'erase', String(name));
    },
    eraseAll: function () {
      host('storage', 'eraseAll');
    },
    list: function (regex, filter) {
      var src, flags;
      if (regex instanceof RegExp) {
        src = regex.source;
        flags = regex.flags;
      } else if (typeof regex === 'string') {
        src = regex;
      }
      return host('storage', 'list', src, flags);
    },
    getFree: function () {
      return host('storage', 'getFree');
    },
    getStats: function () {
      return host('storage', 'getStats');
    },
    compact: function () {
      // (what 2v29 prints for an explicit compact; the automatic one when space runs out is silent)
      host('print', ['Compacting... ']);
      host('storage', 'compact');
    },
    debug: function () {},
  };
  defineHidden(Flash, NATIVE, true);
  defineHidden(Storage, NATIVE, true);
  G.require = function (name) {
    if (name === 'Flash') return Flash;
    if (name === 'Storage') return Storage;
    throw new Error('Module "' + name + '" not found');
  };

  // ---- process, memory, registers -------------------------------------------------------------
  var proc = makeEmitter({});
  proc.env = host('env');
  proc.version = proc.env.VERSION;
  proc.memory = function (gc) {
    return host('memory');
  };
  G.process = proc;
  G.peek32 = function (addr) {
    return host('peek', +addr, 4);
  };
  G.peek16 = function (addr) {
    return host('peek', +addr, 2);
  };
  G.peek8 = function (addr) {
    return host('peek', +addr, 1);
  };
  G.poke32 = function (addr, value) {
    host('poke', +addr, +value, 4);
  };
  G.poke16 = function (addr, value) {
    host('poke', +addr, +value, 2);
  };
  G.poke8 = function (addr, value) {
    host('poke', +addr, +value, 1);
  };
  G.load = function (file) {
    host('load', file === undefined ? undefined : String(file));
  };
  G.save = function () {
    throw new Error('save() is not supported on the virtual board: upload to Storage (.bootcde) instead');
  };
  G.reset = function (clearFlash) {
    host('reset', !!clearFlash);
  };
  G.global = G;

  G.Serial1 = makeDevice('Serial1');
  G.LoopbackA = makeDevice('LoopbackA');
  G.LoopbackB = makeDevice('LoopbackB');
  G[consoleName] = makeDevice(consoleName);

  // ---- Promise --------------------------------------------------------------------------------
  // Espruino's Promise (new, then, catch, resolve, reject, all), in JS: V8's native one would
  // report unhandled rejections to the HOST process (and crash it). Reactions run as jobs the
  // host drains right after the code that queued them; a rejection nobody handles by then
  // throws "Unhandled promise rejection: ..." as on a board.
  var promiseJobs = [];
  // SHOWN: the state Espruino would show (`Promise: { state: 0 }`): it settles a promise only
  // when its own queue runs, after the code that resolved it. 0 pending, 1 rejected, 2 resolved.
  var SHOWN = '\u0000shown';
  var STATE = '\u0000state', VALUE = '\u0000value', REACT = '\u0000reactions', HANDLED = '\u0000handled';
  function queueJob(fn) {
    promiseJobs.push(fn);
  }
  function EPromise(executor) {
    if (!(this instanceof EPromise)) throw new Error('Promise must be called with new');
    if (typeof executor !== 'function') throw new Error('Executor function required in promise constructor');
    defineHidden(this, STATE, 0);
    defineHidden(this, VALUE, undefined);
    defineHidden(this, REACT, []);
    defineHidden(this, HANDLED, false);
    defineHidden(this, SHOWN, 0);
    var self = this;
    var done = false;
    try {
      executor(
        function (v) {
          if (done) return;
          done = true;
          resolveWith(self, v);
        },
        function (e) {
          if (done) return;
          done = true;
          settle(self, 2, e);
        },
      );
    } catch (e) {
      if (!done) {
        done = true;
        settle(self, 2, e);
      }
    }
  }
  function resolveWith(p, v) {
    if (v === p) return settle(p, 2, new TypeError('Chaining cycle detected for promise'));
    if (v && (typeof v === 'object' || typeof v === 'function')) {
      var then;
      try {
        then = v.then;
      } catch (e) {
        return settle(p, 2, e);
      }
      if (typeof then === 'function') {
        var called = false;
        try {
          then.call(
            v,
            function (x) {
              if (!called) {
                called = true;
                resolveWith(p, x);
              }
            },
            function (e) {
              if (!called) {
                called = true;
                settle(p, 2, e);
              }
            },
          );
        } catch (e) {
          if (!called) {
            called = true;
            settle(p, 2, e);
          }
        }
        return;
      }
    }
    settle(p, 1, v);
  }
  function settle(p, state, value) {
    if (p[STATE]) return;
    p[STATE] = state;
    p[VALUE] = value;
    queueJob(function () {
      p[SHOWN] = state === 1 ? 2 : 1;
    });
    var reactions = p[REACT];
    p[REACT] = [];
    for (var i = 0; i < reactions.length; i++) react(reactions[i], state, value);
    if (state === 2 && !p[HANDLED])
      queueJob(function () {
        if (!p[HANDLED]) throw new Error('Unhandled promise rejection: ' + String(value));
      });
  }
  function react(r, state, value) {
    queueJob(function () {
      var cb = state === 1 ? r.onFulfilled : r.onRejected;
      if (typeof cb !== 'function') {
        if (state === 1) resolveWith(r.child, value);
        else settle(r.child, 2, value);
        return;
      }
      var out;
      try {
        out = cb(value);
      } catch (e) {
        settle(r.child, 2, e);
        return;
      }
      resolveWith(r.child, out);
    });
  }
  EPromise.prototype.then = function (onFulfilled, onRejected) {
    var child = new EPromise(function () {});
    var r = { onFulfilled: onFulfilled, onRejected: onRejected, child: child };
    this[HANDLED] = true;
    if (this[STATE]) react(r, this[STATE], this[VALUE]);
    else this[REACT].push(r);
    return child;
  };
  EPromise.prototype['catch'] = function (onRejected) {
    return this.then(undefined, onRejected);
  };
  EPromise.resolve = function (v) {
    if (v instanceof EPromise) return v;
    return new EPromise(function (res) {
      res(v);
    });
  };
  EPromise.reject = function (e) {
    return new EPromise(function (res, rej) {
      rej(e);
    });
  };
  EPromise.all = function (items) {
    return new EPromise(function (res, rej) {
      var results = [];
      var left = items.length;
      if (!left) return res(results);
      for (var i = 0; i < items.length; i++)
        (function (k) {
          EPromise.resolve(items[k]).then(function (v) {
            results[k] = v;
            if (--left === 0) res(results);
          }, rej);
        })(i);
    });
  };
  G.Promise = EPromise;

  // ---- dispatcher (host side drives callbacks through this) -----------------------------------
  var job = null;
  var emitters = { E: E, process: proc };
  function deliver(name, data) {
    var dev = devices[name];
    if (!dev) return;
    if (listeners(dev, 'data').length) {
      dev.emit('data', data);
    } else {
      dev['\u0000buf'] += data;
      if (dev['\u0000buf'].length > 256) {
        dev['\u0000buf'] = dev['\u0000buf'].substr(dev['\u0000buf'].length - 256);
        host('flag', 'BUFFER_FULL');
      }
    }
  }
  var rt = {
    prepare: function (kind, a, b, c) {
      job = [kind, a, b, c];
    },
    run: function () {
      var j = job;
      job = null;
      if (!j) return;
      switch (j[0]) {
        case 'timer': {
          var t = timers[j[1]];
          if (!t) return;
          if (!j[2]) delete timers[j[1]];
          return t.fn.apply(undefined, t.args);
        }
        case 'data':
          return deliver(j[1], j[2]);
        case 'emit': {
          var target = emitters[j[1]] || devices[j[1]];
          if (!target) return;
          var arg = j[3];
          if (j[2] === 'errorFlag') arg = arg.split(',');
          return arg === undefined ? target.emit(j[2]) : target.emit(j[2], arg);
        }
        case 'uncaught':
          return proc.emit('uncaughtException', j[1]);
        case 'drain':
          while (promiseJobs.length) promiseJobs.shift()();
          return;
      }
    },
    hasListeners: function (objName, ev) {
      var target = emitters[objName] || devices[objName];
      return !!target && listeners(target, ev).length > 0;
    },
    pendingJobs: function () {
      return promiseJobs.length;
    },
    dropTimer: function (id) {
      delete timers[id];
    },
    dropAllTimers: function () {
      timers = {};
    },
    errorString: function (e) {
      try {
        return String(e);
      } catch (x) {
        return 'Error';
      }
    },
  };
  Object.freeze(rt);
  return rt;
});

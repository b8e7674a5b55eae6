/* The path picture: a service path as a readable timeline.
 *
 * Draws the widget's path payload ({"type": "polkuopas.path", "version": 1}, from
 * polkuopas.answers.path_payload) as an ordered list of steps: the client's
 * current step highlighted, done and skipped steps marked, pilots with a lamp,
 * branches spelled out in words, the responsible professionals named where known.
 * The pages /polut/<id> render the same structure on the server
 * (actions/polkuopas/web/templates/_path.html) with the same CSS; a browser test
 * keeps the two in step. Everything is built with DOM calls and textContent:
 * no HTML from the payload is ever parsed.
 */

var SVG_NS = "http://www.w3.org/2000/svg";
var LAMP_PATH =
  "M9 21h6v-1.5H9V21zm3-19C8.1 2 5 5.1 5 9c0 2.4 1.2 4.5 3 5.7V17c0 " +
  ".6.4 1 1 1h6c.6 0 1-.4 1-1v-2.3c1.8-1.3 3-3.4 3-5.7 0-3.9-3.1-7-7-7z";

function h(tag, attrs, children) {
  var node = document.createElement(tag);
  var key;
  for (key in attrs || {}) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    var value = attrs[key];
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  (children || []).forEach(function (child) {
    if (child === null || child === undefined || child === false) return;
    node.appendChild(
      typeof child === "string" ? document.createTextNode(child) : child
    );
  });
  return node;
}

function fmt(template, values) {
  return String(template).replace(/\{(\w+)\}/g, function (all, name) {
    return Object.prototype.hasOwnProperty.call(values, name)
      ? String(values[name])
      : all;
  });
}

function finnishDate(iso) {
  var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
  return m ? Number(m[3]) + "." + Number(m[2]) + "." + m[1] : String(iso || "");
}

function joinNames(names) {
  if (names.length <= 1) return names.join("");
  return names.slice(0, -1).join(", ") + " ja " + names[names.length - 1];
}

function lampIcon() {
  var svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "pk-lamp");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  var path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", LAMP_PATH);
  svg.appendChild(path);
  return svg;
}

/* What the picture shows beyond the payload, worked out once: which steps are
 * alternatives (reached only through a choice), where a branch lists its options,
 * where the next step is not the one drawn below, and which options end the path.
 * Mirrors polkuopas.web.pathview.path_model. */
function pathModel(payload) {
  var steps = payload.steps || [];
  var byId = {};
  var incoming = {};
  steps.forEach(function (step) {
    byId[step.id] = step;
  });
  steps.forEach(function (step) {
    (step.next || []).forEach(function (n) {
      (incoming[n.step] = incoming[n.step] || []).push(n);
    });
  });
  return steps.map(function (step, index) {
    var into = incoming[step.id] || [];
    var next = (step.next || []).filter(function (n) {
      return byId[n.step];
    });
    var following = steps[index + 1];
    var target = next.length === 1 ? byId[next[0].step] : null;
    return {
      step: step,
      alternative:
        into.length > 0 &&
        into.every(function (n) {
          return !!n.when;
        }),
      branch:
        next.length > 1
          ? next.map(function (n) {
              var to = byId[n.step];
              return { number: to.number, title: to.title, when: n.when || "" };
            })
          : [],
      nextFar:
        target && (!following || following.id !== target.id)
          ? { number: target.number, title: target.title }
          : null,
      endsHere: next.length === 0 && index < steps.length - 1,
    };
  });
}

function peopleText(t, group) {
  return group.map(function (person) {
    var names = person.names || [];
    return h("span", { class: "pk-person" }, [
      person.title,
      names.length ? " " : "",
      names.length ? h("strong", { text: joinNames(names) }) : null,
    ]);
  });
}

function separated(nodes, separator) {
  var out = [];
  nodes.forEach(function (node, i) {
    if (i) out.push(separator);
    out.push(node);
  });
  return out;
}

function statusTag(t, status) {
  var label = {
    current: t.statusCurrent,
    done: t.statusDone,
    skipped: t.statusSkipped,
  }[status];
  return label
    ? h("span", { class: "pk-tag pk-tag--" + status, text: label })
    : null;
}

function renderStep(t, item, total, opts) {
  var step = item.step;
  var status = step.status || "";
  var classes = ["pk-step"];
  if (status) classes.push("pk-step--" + status);
  if (step.pilot) classes.push("pk-step--pilot");
  if (item.alternative) classes.push("pk-step--alternative");
  var facts = [];
  facts.push(h("dt", { text: t.responsible }));
  facts.push(h("dd", null, separated(peopleText(t, step.responsible), ", ")));
  if ((step.participants || []).length) {
    facts.push(h("dt", { text: t.participants }));
    facts.push(h("dd", null, separated(peopleText(t, step.participants), ", ")));
  }
  facts.push(h("dt", { text: t.duration }));
  facts.push(h("dd", { text: step.duration }));

  var details = h(
    "details",
    { class: "pk-step__details", open: !opts.compact || status === "current" },
    [
      h("summary", { text: t.details }),
      h("p", { class: "pk-step__description", text: step.description }),
      h("p", { class: "pk-step__client" }, [
        h("strong", { text: t.clientDoes + ": " }),
        step.client_does,
      ]),
      step.pilot && step.pilot_note
        ? h("p", { class: "pk-step__pilot-note" }, [
            lampIcon(),
            h("strong", { text: t.pilot + ": " }),
            step.pilot_note,
          ])
        : null,
    ]
  );

  var onward = null;
  if (item.branch.length) {
    onward = h("div", { class: "pk-branch" }, [
      h("p", { class: "pk-branch__intro", text: t.branch }),
      h(
        "ul",
        { class: "pk-branch__options" },
        item.branch.map(function (option) {
          return h("li", null, [
            h("strong", {
              text: fmt(t.branchOption, option) + (option.when ? ": " : ""),
            }),
            option.when,
          ]);
        })
      ),
    ]);
  } else if (item.nextFar) {
    onward = h("p", { class: "pk-step__next", text: fmt(t.next, item.nextFar) });
  } else if (item.endsHere) {
    onward = h("p", { class: "pk-step__next", text: t.endsHere });
  }

  var tags = [
    statusTag(t, status),
    step.pilot
      ? h("span", { class: "pk-tag pk-tag--pilot" }, [lampIcon(), t.pilot])
      : null,
    item.alternative
      ? h("span", { class: "pk-tag pk-tag--alternative", text: t.alternative })
      : null,
  ].filter(Boolean);

  return h(
    "li",
    {
      class: classes.join(" "),
      id: opts.idPrefix + "step-" + step.id,
      "aria-current": status === "current" ? "step" : null,
    },
    [
      h("span", { class: "pk-step__marker", "aria-hidden": "true" }, [
        String(step.number),
      ]),
      h("div", { class: "pk-step__body" }, [
        h("h" + Math.min(opts.level + 1, 6), { class: "pk-step__title" }, [
          h("span", {
            class: "pk-vh",
            text: fmt(t.stepOf, { number: step.number, total: total }) + " ",
          }),
          step.title,
        ]),
        tags.length ? h("p", { class: "pk-step__tags" }, separated(tags, " ")) : null,
        h("dl", { class: "pk-step__facts" }, facts),
        details,
        onward,
      ]),
    ]
  );
}

function renderFollowUp(t, payload, opts) {
  var rule = payload.follow_up;
  if (!rule) return null;
  var when = rule.due_on
    ? fmt(t.followUpDue, {
        due_on: finnishDate(rule.due_on),
        due_by: finnishDate(rule.due_by),
      })
    : fmt(
        rule.earliest_months === rule.latest_months
          ? t.followUpWindowOne
          : t.followUpWindow,
        { earliest: rule.earliest_months, latest: rule.latest_months }
      );
  return h("div", { class: "pk-followup" + (rule.pilot ? " pk-followup--pilot" : "") }, [
    h("p", { class: "pk-followup__title" }, [
      h("strong", { text: t.followUpTitle }),
      rule.pilot ? " " : null,
      rule.pilot
        ? h("span", { class: "pk-tag pk-tag--pilot" }, [lampIcon(), t.pilot])
        : null,
    ]),
    h("dl", { class: "pk-step__facts" }, [
      h("dt", { text: t.followUpWho }),
      h("dd", { text: rule.title }),
      h("dt", { text: t.followUpWhen }),
      h("dd", { text: when }),
    ]),
    h("p", { class: "pk-followup__description", text: rule.description }),
  ]);
}

function renderLegend(t, payload) {
  var rows = [];
  if (payload.personal) {
    rows.push([h("span", { class: "pk-tag pk-tag--current", text: t.statusCurrent }), t.currentLegend]);
  }
  rows.push([h("span", { class: "pk-tag pk-tag--pilot" }, [lampIcon(), t.pilot]), t.pilotLegend]);
  rows.push([h("span", { class: "pk-tag pk-tag--alternative", text: t.alternative }), t.alternativeLegend]);
  return h(
    "ul",
    { class: "pk-legend", "aria-label": t.legendLabel },
    rows.map(function (row) {
      return h("li", null, [row[0], " " + row[1]]);
    })
  );
}

/* renderPath(payload, {strings, level, idPrefix, compact, showHeader, pageUrl}) */
function renderPath(payload, options) {
  var opts = options || {};
  var t = opts.strings;
  opts.level = opts.level || 3;
  opts.idPrefix = opts.idPrefix || "";
  var info = payload.path || {};
  var model = pathModel(payload);
  var titleId = opts.idPrefix + "path-title";
  var header = null;
  if (opts.showHeader !== false) {
    header = h("div", { class: "pk-path__header" }, [
      h("p", { class: "pk-path__kind", text: payload.personal ? t.pathYours : t.pathGeneral }),
      h("h" + opts.level, { class: "pk-path__title", id: titleId, text: info.name }),
      h("p", { class: "pk-path__org", text: info.organisation }),
      payload.ended ? h("p", { class: "pk-path__ended", text: t.pathEnded }) : null,
    ]);
  }
  return h(
    "section",
    {
      class: "pk-path" + (payload.personal ? " pk-path--personal" : ""),
      "data-path-id": info.id,
      "aria-labelledby": header ? titleId : null,
      "aria-label": header ? null : info.name,
    },
    [
      header,
      renderLegend(t, payload),
      h(
        "ol",
        { class: "pk-steps" },
        model.map(function (item) {
          return renderStep(t, item, model.length, opts);
        })
      ),
      renderFollowUp(t, payload, opts),
      opts.pageUrl
        ? h("p", { class: "pk-path__page" }, [
            h("a", { href: opts.pageUrl, target: "_blank", rel: "noopener" }, [
              t.openPathPage,
              h("span", { class: "pk-vh", text: " " + t.newWindow }),
            ]),
          ])
        : null,
    ]
  );
}

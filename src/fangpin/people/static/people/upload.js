/* Department list upload with a progress bar (progressive enhancement).
 *
 * Without this script the form posts normally and the server answers with the result page.
 * With it, the same form is sent by XMLHttpRequest so that upload progress can be drawn; the
 * server then answers JSON: {"redirect": url} once imported, or {"errors": [...]}.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-upload-form]");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var box = form.querySelector("[data-upload-progress]");
  var bar = box && box.querySelector("progress");
  var status = box && box.querySelector("[data-upload-status]");
  var errors = form.querySelector("[data-upload-errors]");
  var button = form.querySelector("button[type=submit]");
  if (!box || !bar || !status || !errors || !button) return;

  function showErrors(list) {
    errors.textContent = "";
    list.forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      errors.appendChild(line);
    });
    errors.hidden = list.length === 0;
  }

  function finish(list) {
    box.hidden = true;
    button.disabled = false;
    showErrors(list);
  }

  form.addEventListener("submit", function (event) {
    if (typeof form.reportValidity === "function" && !form.reportValidity()) return;
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar.max = e.total;
      bar.value = e.loaded;
      status.textContent = "正在上传 " + Math.floor((100 * e.loaded) / e.total) + "%";
    });
    xhr.upload.addEventListener("load", function () {
      // The file is on the server; checking every row and importing takes a while longer.
      bar.removeAttribute("value");
      status.textContent = "上传完成，正在逐行校验并导入……";
    });
    xhr.addEventListener("load", function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status === 200 && data && data.redirect) {
        status.textContent = "导入完成，正在打开结果……";
        window.location.assign(data.redirect);
        return;
      }
      if (data && data.errors && data.errors.length) finish(data.errors);
      else if (xhr.status === 403) finish(["没有上传名单的权限，或页面已过期，请刷新后重试。"]);
      else finish(["上传失败（" + xhr.status + "），请重试。"]);
    });
    xhr.addEventListener("error", function () { finish(["网络中断，上传未完成，请重试。"]); });
    showErrors([]);
    bar.value = 0;
    status.textContent = "正在上传 0%";
    box.hidden = false;
    button.disabled = true;
    xhr.send(new FormData(form));
  });
})();

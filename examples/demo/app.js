// Booth demo: the same calls a face-pay terminal mini-program makes.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var taskSeq = 0;
  function call(action, params, cb) {
    my.call('ampeHHCommunication', { action: action, event: 'open', taskId: 'demo-' + (++taskSeq), params: params || {} }, cb);
  }
  function fill(dl, obj) {
    dl.innerHTML = '';
    Object.keys(obj).forEach(function (k) {
      var dt = document.createElement('dt'); dt.textContent = k;
      var dd = document.createElement('dd'); dd.textContent = String(obj[k]);
      dl.appendChild(dt); dl.appendChild(dd);
    });
  }

  // seed 000 FAQ: arome_deviceId tells a terminal from a phone.
  my.getSystemInfo({
    success: function (res) {
      $('env').textContent = res.arome_deviceId != null
        ? '运行在终端上 · 设备号 ' + res.arome_deviceId + ' · ' + res.windowWidth + '×' + res.windowHeight
        : '运行在手机上';
    },
    fail: function (e) { $('env').textContent = '获取系统信息失败: ' + e.message; }
  });

  call('getDeviceInfo', {}, function (res) {
    if (res.success) fill($('device'), res.data); else fill($('device'), { 错误: res.message });
  });

  wxfaceapp.checkWxFacePayOsInfo({
    success: function (res) { fill($('wx'), res); },
    fail: function (res) { fill($('wx'), { 错误: res.reply || res.osErrorMsg }); }
  });

  my.on('initQRListener', function (res) {
    var li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + '  ' + res.data.qrCode;
    $('scans').insertBefore(li, $('scans').firstChild);
  });

  $('scan').onclick = function () {
    $('scan-result').textContent = '请扫码…(15 秒内)';
    call('getQRCode', {}, function (res) {
      $('scan-result').textContent = res.success ? res.data.qrCode : res.message + ' (' + res.errorCode + ')';
    });
  };
  $('cancel').onclick = function () {
    my.call('ampeHHCommunication', { action: 'getQRCode', event: 'close', taskId: 'demo-cancel' }, function () {});
  };
  $('speak').onclick = function () {
    call('speech', { text: '欢迎使用' }, function (res) { $('speak-result').textContent = JSON.stringify(res, null, 2); });
  };
})();

// The Audit log page's texts, merged into the messages when its chunk loads (AuditPage.vue).
const zh = {
  audit: {
    title: '审计日志',
    intro: '谁在何时、从哪里做了什么。最新的在前。',
    at: '时间', who: '操作人', action: '操作', target: '对象', changes: '内容', from: '来源',
    system: '系统', shopper: '顾客 #{id}', staffId: '员工 #{id}',
    filterActor: '操作人', anyone: '全部', actorId: '员工编号',
    filterAction: '操作', actionHint: '如 inventory.restock，或前缀 inventory',
    filterTarget: '对象', targetType: '类型', targetId: '编号',
    fromDay: '开始日期', toDay: '结束日期',
    search: '查询', clear: '清除筛选',
    daysNote: '日期按北京时间计，含首尾两天。',
    shown: '已加载 {n} 条。', shownFiltered: '已加载 {n} 条符合条件的记录。',
    invalid: {
      actor: '员工编号应为正整数。',
      action: '操作名只能包含字母、数字和 _.:-。',
      targetType: '对象类型应为小写表名（如 inventory），按编号筛选时必填。',
      targetId: '对象编号最多 64 个字符。',
      dates: '请选择有效的日期，结束日期不能早于开始日期。',
    },
    request: '请求 {id}',
  },
}

const en: typeof zh = {
  audit: {
    title: 'Audit log',
    intro: 'Who did what, when, and from where. Newest first.',
    at: 'When', who: 'Who', action: 'Action', target: 'Target', changes: 'Details', from: 'From',
    system: 'System', shopper: 'Shopper #{id}', staffId: 'Staff #{id}',
    filterActor: 'Who', anyone: 'Anyone', actorId: 'Staff id',
    filterAction: 'Action', actionHint: 'e.g. inventory.restock, or the prefix inventory',
    filterTarget: 'Target', targetType: 'Type', targetId: 'Id',
    fromDay: 'From', toDay: 'To',
    search: 'Search', clear: 'Clear filters',
    daysNote: 'Days are Beijing time, both ends included.',
    shown: '{n} loaded.', shownFiltered: '{n} matching entries loaded.',
    invalid: {
      actor: 'A staff id is a positive whole number.',
      action: 'An action is letters, digits and _.:- only.',
      targetType: 'A target type is a lower-case table name (e.g. inventory), needed with an id.',
      targetId: 'A target id is at most 64 characters.',
      dates: 'Choose valid days; the range cannot end before it starts.',
    },
    request: 'request {id}',
  },
}

export default { 'zh-CN': zh, en }

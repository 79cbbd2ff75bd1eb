// The Audit log page's texts, merged into the messages when its chunk loads (AuditPage.vue).
const zh = {
  audit: {
    title: '审计日志',
    intro: '谁在何时、从哪里做了什么。最新的在前。',
    at: '时间', who: '操作人', action: '操作', target: '对象', changes: '内容', from: '来源',
    system: '系统', shopper: '顾客 #{id}', staffId: '员工 #{id}',
    filterAction: '按操作筛选（如 staff.create）', filterActor: '按操作人筛选', filterTarget: '按对象筛选',
    filterNote: '筛选只作用于已加载的记录；需要更早的记录请点“加载更多”。',
    shown: '已加载 {n} 条，显示 {m} 条',
    request: '请求 {id}',
  },
}

const en: typeof zh = {
  audit: {
    title: 'Audit log',
    intro: 'Who did what, when, and from where. Newest first.',
    at: 'When', who: 'Who', action: 'Action', target: 'Target', changes: 'Details', from: 'From',
    system: 'System', shopper: 'Shopper #{id}', staffId: 'Staff #{id}',
    filterAction: 'Filter by action (e.g. staff.create)', filterActor: 'Filter by who', filterTarget: 'Filter by target',
    filterNote: 'Filters apply to the entries loaded; "Load more" for older ones.',
    shown: '{n} loaded, {m} shown',
    request: 'request {id}',
  },
}

export default { 'zh-CN': zh, en }

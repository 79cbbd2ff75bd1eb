"""WeChat Pay consumer complaints (消费者投诉2.0): recorded from WeChat's notifications
and a scheduled pull, linked to their orders, answered by staff through WeChat Pay."""
